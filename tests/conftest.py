"""Fixtures for every suite: the real Kubernetes control plane (``control_plane``, ``kube``)."""

import os

from hypothesis import settings

pytest_plugins = ["tests.support.pytest_plugin"]

# CI (.ci/run sets HYPOTHESIS_PROFILE=ci) runs every property on the same examples each time, so a
# release gate never fails on an example nobody has seen; runs elsewhere explore (random seeds) and
# keep what they find in .hypothesis/ (add it as an @example once understood).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
