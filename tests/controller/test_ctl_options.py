"""``ironlb-controller`` flags: env equivalents named in --help, and the manifest-directory mode."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from controller.options import parse_options
from ironlb.cluster.manifests import ManifestSource


def _help() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parse_options(["--help"], env={})
    return " ".join(out.getvalue().split())  # argparse wraps lines


def test_workers_flag_names_its_environment_variable() -> None:
    assert "(env IRONLB_WORKERS)" in _help()
    assert parse_options([], env={"IRONLB_WORKERS": "3"}).workers == 3
    assert parse_options(["--workers", "5"], env={"IRONLB_WORKERS": "3"}).workers == 5


def test_manifests_mode_from_flag_or_environment() -> None:
    assert parse_options([], env={}).manifests is None
    o = parse_options(["--manifests", "/m", "--poll-interval", "0.5"], env={"KUBECONFIG": "/k"})
    assert (o.manifests, o.poll_interval, o.kubeconfig) == ("/m", 0.5, None)  # KUBECONFIG is not used
    o = parse_options([], env={"IRONLB_MANIFESTS": "/e", "IRONLB_POLL_INTERVAL": "2"})
    assert (o.manifests, o.poll_interval) == ("/e", 2.0)
    assert parse_options([], env={"KUBECONFIG": "/k"}).kubeconfig == "/k"  # the API mode still reads it
    assert parse_options(["--kubeconfig", "/f"], env={"KUBECONFIG": "/k"}).kubeconfig == "/f"


@pytest.mark.parametrize(
    "argv", [["--manifests", "/m", "--kubeconfig", "/k"], ["--manifests", "/m", "--poll-interval", "0"]]
)
def test_manifests_mode_refuses_nonsense(argv: list[str]) -> None:
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit) as exc:
        parse_options(argv, env={})
    assert exc.value.code == 2


CONFIG = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "ironlb", "namespace": "lb"},
    "data": {"config": "address-pools:\n- name: p\n  protocol: bgp\n  addresses: [198.51.100.7/32]\n"},
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
}


def _ingress(directory: Path) -> list[str]:
    (web,) = ManifestSource([directory]).snapshot().services
    return [e["ip"] for e in ((web.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]


def test_the_program_runs_over_a_manifest_directory(tmp_path: Path) -> None:
    """``ironlb-controller --manifests DIR`` (the installed program) allocates and stops on SIGTERM."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(SERVICE))
    program = Path(sys.executable).parent / "ironlb-controller"
    argv = [str(program)] if program.is_file() else [sys.executable, "-m", "controller"]
    child = subprocess.Popen(
        [*argv, "--manifests", str(tmp_path), "--poll-interval", "0.05"],
        env={**os.environ, "IRONLB_NAMESPACE": "lb"},  # the ConfigMap's namespace, as in the API mode
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not _ingress(tmp_path) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _ingress(tmp_path) == ["198.51.100.7"]
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stderr is not None
        child.stderr.close()


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("IRONLB_WORKERS", "default", "'default' is not a whole number"),
        ("IRONLB_WORKERS", "0", "must be at least 1"),
        ("IRONLB_LEASE_DURATION", "15s", "'15s' is not a number of seconds"),
        ("IRONLB_LEADER_ELECT", "maybe", "expected one of"),
        ("IRONLB_METRICS_ADDRESS", "7472", "expected HOST:PORT or :PORT"),
        ("IRONLB_LOG_FORMAT", "xml", "choose text or json"),
    ],
)
def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(
    variable: str, value: str, says: str
) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        parse_options([], env={variable: value})
    assert exc.value.code == 2
    assert f"environment variable {variable}={value!r}: " in err.getvalue() and says in err.getvalue()


def test_a_flag_wins_over_a_bad_environment_value() -> None:
    assert parse_options(["--workers", "2"], env={"IRONLB_WORKERS": "default"}).workers == 2
    assert parse_options([], env={"IRONLB_WORKERS": ""}).workers == 8  # empty: unset


@pytest.mark.parametrize("program", ["controller", "speaker"])
def test_the_programs_exit_with_one_line_not_a_traceback(program: str, tmp_path: Path) -> None:
    variable = {"controller": "IRONLB_WORKERS", "speaker": "IRONLB_MEMBERSHIP_PORT"}[program]
    argv = [sys.executable, "-m", program]
    if program == "speaker":
        argv += ["--node", "n1", "--membership-key-file", str(tmp_path / "key")]
    done = subprocess.run(
        argv,
        env={**os.environ, variable: "default", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"environment variable {variable}='default'" in done.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "Invalid kube-config file"),  # the file does not exist
        ("garbage: [\n", "while parsing a flow node"),  # not YAML
        ("apiVersion: v1\nkind: Config\ncontexts: []\ncurrent-context: nope\n", "name nope"),
    ],
)
def test_an_unusable_kubeconfig_is_one_line_and_exit_2(tmp_path: Path, text: str | None, says: str) -> None:
    """Not a traceback: the program names the file and what is wrong with it, and what to give instead;
    ``ironlb plan`` says the same in its own words."""
    kubeconfig = tmp_path / "kubeconfig"
    if text is not None:
        kubeconfig.write_text(text)
    program = Path(sys.executable).parent / "ironlb-controller"
    argv = [str(program)] if program.is_file() else [sys.executable, "-m", "controller"]
    done = subprocess.run(
        [*argv, "--kubeconfig", str(kubeconfig), "--metrics-address", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"ironlb-controller: cannot use the kubeconfig {kubeconfig}: "), line
    assert says in line and "--kubeconfig FILE" in line
    plan = subprocess.run(
        [sys.executable, "-m", "ironlb", "plan", "--kubeconfig", str(kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert plan.returncode == 2
    assert plan.stderr.strip().splitlines() == [
        line.replace("ironlb-controller", "ironlb plan").split(" (give")[0]
    ]
