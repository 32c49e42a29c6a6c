"""ironlb: bare-metal LoadBalancer provider for Kubernetes (shared library and CLI)."""


def __getattr__(name: str) -> str:
    """``ironlb.__version__``: the installed version (``ironlb.version``), looked up when asked for."""
    if name == "__version__":
        from ironlb.version import version

        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
