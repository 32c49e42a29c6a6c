"""Every flag of both programs: what it is, its default and its environment variable, as ``--help`` says.

Derived from each program's own parser (every option argparse knows), not from a list here:
a flag added with a plain ``add_argument``, or whose help names the wrong variable or the
wrong default, fails. The variable a help text names must be the one the parser reads: set
to a value, it gives the same setting as the flag with that value.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from controller.options import build_parser as controller_parser
from ironlb.programs.flags import Flag, ProgramParser
from ironlb.version import version_line
from speaker.options import build_parser as speaker_parser

REPO = Path(__file__).resolve().parents[2]
PARSERS = {"ironlb-controller": controller_parser, "ironlb-speaker": speaker_parser}
REQUIRED = {"NODE_NAME": "n1", "IRONLB_MEMBERSHIP_KEY_FILE": "/k"}  # the speaker's; the controller has none
CANDIDATES = ("127.0.0.1:9", "json", "text", "sample-value", "7", "0.5", "1")


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.dest not in ("help", "version")]


def _shown(value: Any) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def _other_value(flag: Flag, default: Any) -> tuple[str, Any]:
    """A value text for the flag that gives something other than its default (per its converter)."""
    if isinstance(default, int | float) and not isinstance(default, bool):
        text = str(default * 2 + 1)
        return text, flag.convert(text)
    for text in CANDIDATES:
        try:
            value = flag.convert(text)
        except (ValueError, argparse.ArgumentTypeError):
            continue
        if value != default:
            return text, value
    raise AssertionError(f"{flag.name}: no sample value for its converter {flag.convert!r}")


@pytest.mark.parametrize("program", sorted(PARSERS))
def test_every_option_says_what_its_default_and_its_variable(program: str) -> None:
    parser: ProgramParser = PARSERS[program]()
    options = _options(parser)
    assert len(options) >= 15
    defaults = parser.parse([], REQUIRED)
    for action in options:
        flag = parser.flags.get(action.dest)
        assert flag is not None, f"{action.option_strings}: not declared as a Flag (no environment variable)"
        text = " ".join((action.help or "").split()).replace("%%", "%")
        found = re.search(r"; (required|default: (.+)) \(env ([A-Z_]+)[;)]", text)
        assert found, f"{flag.name}: help {text!r} does not say its default and its variable"
        what, default, variable = text[: found.start()], found.group(2), found.group(3)
        assert len(what) > 10, f"{flag.name}: help {text!r} does not say what it is"
        if found.group(1) != "required" and defaults[flag.key] is not None:
            assert default == _shown(defaults[flag.key]), f"{flag.name}: help says {default!r}"

        # The variable the help names is the one read, and it means what the flag means.
        if flag.switch:
            by_flag = parser.parse([f"--no-{flag.name[2:]}"], REQUIRED)[flag.key]
            by_env = parser.parse([], {**REQUIRED, variable: "false"})[flag.key]
            assert by_flag is by_env is False and defaults[flag.key] is True, flag.name
            continue
        sample, value = _other_value(flag, defaults[flag.key])
        by_flag = parser.parse([flag.name, sample], REQUIRED)[flag.key]
        by_env = parser.parse([], {**REQUIRED, variable: sample})[flag.key]
        assert by_flag == by_env == value != defaults[flag.key], (flag.name, variable, sample)


@pytest.mark.parametrize("program", sorted(PARSERS))
def test_help_shows_every_flag_with_its_variable(program: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exc:
        PARSERS[program]().parse(["--help"], {})
    assert exc.value.code == 0
    text = " ".join(out.getvalue().split())
    for flag in PARSERS[program]().flags.values():
        assert flag.name in text and f"(env {flag.env}" in text, flag.name


@pytest.mark.parametrize("module", ["controller", "speaker"])
def test_version(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == version_line(f"ironlb-{module}") + "\n"


def test_a_bad_value_names_the_variable_and_a_flag_wins() -> None:
    parser = speaker_parser()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        parser.parse([], {**REQUIRED, "IRONLB_POLL_INTERVAL": "soon"})
    assert exc.value.code == 2
    assert (
        "environment variable IRONLB_POLL_INTERVAL='soon': 'soon' is not a number of seconds"
        in err.getvalue()
    )
    assert (
        parser.parse(["--poll-interval", "2"], {**REQUIRED, "IRONLB_POLL_INTERVAL": "soon"})["poll_interval"]
        == 2
    )


@pytest.mark.parametrize(
    ("env", "argv", "expected"),
    [
        ({}, [], ":7473"),
        ({"IRONLB_METRICS_ADDRESS": ""}, [], ""),  # empty means off for this flag, from either place
        ({}, ["--metrics-address", ""], ""),
        ({"IRONLB_METRICS_ADDRESS": "127.0.0.1:1"}, ["--metrics-address="], ""),
    ],
)
def test_empty_means_off_only_where_the_flag_says_so(
    env: dict[str, str], argv: list[str], expected: str
) -> None:
    assert speaker_parser().parse(argv, {**REQUIRED, **env})["metrics_address"] == expected
    # Everywhere else an empty variable is unset: the default applies.
    assert speaker_parser().parse([], {**REQUIRED, "IRONLB_CONFIGMAP": ""})["configmap"] == "ironlb"
    assert controller_parser().parse([], {"IRONLB_METRICS_ADDRESS": ""})["metrics_address"] == ":7472"


def test_the_same_setting_is_the_same_flag_in_both_programs() -> None:
    controller, speaker = controller_parser().flags, speaker_parser().flags
    shared = {f.name for f in controller.values()} & {f.name for f in speaker.values()}
    assert {"--kubeconfig", "--manifests", "--namespace", "--configmap", "--lb-class"} <= shared
    assert {"--metrics-address", "--log-format", "--poll-interval"} <= shared
    by_name = {f.name: f for f in controller.values()}
    for flag in speaker.values():
        if flag.name in shared:
            assert (flag.env, flag.convert) == (by_name[flag.name].env, by_name[flag.name].convert), flag.name


def test_a_flag_declared_twice_is_a_bug() -> None:
    with pytest.raises(ValueError, match="second flag"):
        ProgramParser("p", "d", [Flag("--a", "A", "the first a"), Flag("--a", "B", "the second a")])
