"""Test support shared by the tests and the benchmarks: a real Kubernetes control plane
(``controlplane``) and its pytest fixtures (``pytest_plugin``)."""
