"""Fixtures for every suite: the real Kubernetes control plane (``control_plane``, ``kube``)."""

pytest_plugins = ["tests.support.pytest_plugin"]
