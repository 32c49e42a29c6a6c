"""ironlb: bare-metal LoadBalancer provider for Kubernetes (shared library and CLI)."""

__version__ = "0.1.0"
