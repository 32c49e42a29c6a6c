"""The speaker names the ConfigMap's namespace as the controller does: ``--namespace``, ``IRONLB_NAMESPACE``.

The older ``--config-namespace``/``IRONLB_CONFIG_NAMESPACE`` still work (manifests may set them).
"""

from __future__ import annotations

import contextlib
import io

import pytest

from ironlb.cluster.manifests import DEFAULT_NAMESPACE
from speaker.options import parse_options

BASE = {"NODE_NAME": "n1", "IRONLB_MANIFESTS": "/m", "IRONLB_MEMBERSHIP_KEY_FILE": "/k"}


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, DEFAULT_NAMESPACE),
        (["--namespace", "a"], {}, "a"),
        (["--config-namespace", "b"], {}, "b"),  # the older flag, same setting
        ([], {"IRONLB_NAMESPACE": "c"}, "c"),
        ([], {"IRONLB_CONFIG_NAMESPACE": "d"}, "d"),  # the older variable
        ([], {"IRONLB_NAMESPACE": "c", "IRONLB_CONFIG_NAMESPACE": "d"}, "c"),  # the controller's name wins
        ([], {"IRONLB_NAMESPACE": "", "IRONLB_CONFIG_NAMESPACE": "d"}, "d"),  # empty means unset
        (["--namespace", "a"], {"IRONLB_NAMESPACE": "c", "IRONLB_CONFIG_NAMESPACE": "d"}, "a"),  # flag wins
        (["--config-namespace", "b", "--namespace", "a"], {}, "a"),  # the last one given
    ],
)
def test_namespace_flag_environment_and_old_names(
    argv: list[str], env: dict[str, str], expected: str
) -> None:
    assert parse_options(argv, {**BASE, **env}).config_namespace == expected


def test_same_flag_and_variable_as_the_controller() -> None:
    from controller.options import parse_options as controller_options

    env = {**BASE, "IRONLB_NAMESPACE": "shared"}
    assert parse_options([], env).config_namespace == controller_options([], env).namespace == "shared"
    argv = ["--namespace", "flag"]
    assert parse_options(argv, BASE).config_namespace == controller_options(argv, {}).namespace == "flag"


def test_help_names_the_environment_variable() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parse_options(["--help"], BASE)
    text = " ".join(out.getvalue().split())
    assert "--namespace NAMESPACE, --config-namespace" in text and "(env IRONLB_NAMESPACE;" in text
