"""What ``ironlb validate`` / ``plan`` / ``convert`` say about the files a new user gives them.

Warnings once (not again through logging's fallback handler), the wrong kind of
file recognised and sent to the command that takes it, binary or non-UTF-8 files
refused in a sentence with exit 1, and IPv6 pool sizes a human can read.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from ironlb.cli.filekinds import describe_non_config
from ironlb.cli.main import main
from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.seam import ClusterSourceUnavailable
from ironlb.config import config_from_configmap, configmap_report, parse_config, parse_config_report

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
HOST_BITS = "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.7/24]}]\n"
WARNING = "'10.0.0.7/24' has host bits set"


def ironlb(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """The command in a child process, as a user runs it (no pytest logging handler around it)."""
    done = subprocess.run(
        [sys.executable, "-m", "ironlb", *argv], input=stdin, capture_output=True, timeout=60, check=False
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


# --- item 4: a warning is printed once ---------------------------------------------------------


def test_validate_and_plan_print_a_config_warning_once(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(HOST_BITS)
    for argv in (
        ["validate", str(cfg)],
        ["plan", "-c", str(cfg), "-f", str(SAMPLES / "services" / "nodes.yaml")],
    ):
        done = ironlb(*argv)
        assert done.returncode == 0, done.stderr
        assert done.stderr.count(WARNING) == 1, done.stderr
        assert f"warning: address-pools[0].addresses[0]: {WARNING}" in done.stderr


def test_plan_prints_the_warnings_of_a_configmap_among_the_manifests(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: ironlb-system, name: ironlb}\n"
        "data:\n  config: |\n    " + HOST_BITS
    )
    done = ironlb("plan", "-f", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(WARNING) == 1, done.stderr
    assert "warning: ConfigMap in manifests: address-pools[0]" in done.stderr


def test_the_reporting_parsers_return_warnings_and_the_others_log_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cm = {"kind": "ConfigMap", "data": {"config": HOST_BITS}}
    with caplog.at_level(logging.WARNING, logger="ironlb.config"):
        assert any(WARNING in w for w in parse_config_report(HOST_BITS).warnings)
        assert any(WARNING in w for w in configmap_report(cm).warnings)  # type: ignore[arg-type]
        assert caplog.records == []  # the caller prints them: logging them too doubles them
        parse_config(HOST_BITS)
        config_from_configmap(cm)  # type: ignore[arg-type]  # the programs: their log is the report
    assert [WARNING in r.getMessage() for r in caplog.records] == [True, True]


# --- item 5: the wrong kind of file ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "metallb-crds/pools.yaml",
            "it holds MetalLB resources (IPAddressPool x3): `ironlb convert {path}` turns them into "
            "ironlb.io resources",
        ),
        (
            "metallb-crds/bfd.yaml",
            "it holds MetalLB resources (BFDProfile): `ironlb convert {path}`",
        ),
        (
            "services/layer2/apps.yaml",
            "it holds cluster manifests (Service x4): `ironlb plan -c CONFIG -f {path}` shows what ironlb "
            "would assign to them",
        ),
        ("services/nodes.yaml", "it holds cluster manifests (Node x3, EndpointSlice x8): `ironlb plan"),
        ("../default/speaker.yaml", "it holds Kubernetes objects (DaemonSet): ironlb's commands do not read"),
    ],
)
def test_validate_names_what_the_file_is_and_the_command_that_takes_it(path: str, expected: str) -> None:
    file = str(SAMPLES / path)
    done = ironlb("validate", file)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"ironlb validate: {file} is not an ironlb config; ")
    assert expected.format(path=file) in done.stderr
    assert "unknown field" not in done.stderr
    assert done.stderr.count("\n") == 1  # one sentence, not one line per field
    plan = ironlb("plan", "-c", file, "-f", str(SAMPLES / "services" / "nodes.yaml"))
    assert plan.returncode == 1 and expected.format(path=file) in plan.stderr


def test_validate_recognises_standard_input_and_mixed_files() -> None:
    crds = (SAMPLES / "metallb-crds" / "layer2.yaml").read_bytes()
    services = (SAMPLES / "services" / "layer2" / "apps.yaml").read_bytes()
    done = ironlb("validate", "-", stdin=crds + b"\n---\n" + services)
    assert done.returncode == 1
    assert done.stderr.startswith("ironlb validate: standard input is not an ironlb config; ")
    assert "MetalLB resources (L2Advertisement): `ironlb convert -`" in done.stderr
    assert "; and cluster manifests (Service x4): `ironlb plan -c CONFIG -f -`" in done.stderr


def test_configs_and_broken_configs_still_get_the_parsers_answer(tmp_path: Path) -> None:
    """Recognition never hides a config's own errors, nor a ConfigMap next to other objects."""
    bare = tmp_path / "bare.yaml"
    bare.write_text("address-pools: []\nkind: Service\n")  # a bare config with a stray key
    done = ironlb("validate", str(bare))
    assert done.returncode == 1 and "kind: unknown field 'kind'" in done.stderr
    cm = (SAMPLES / "layer2.yaml").read_text()
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(cm + "\n---\n" + (SAMPLES / "services" / "layer2" / "apps.yaml").read_text())
    assert ironlb("validate", str(mixed)).returncode == 0


@pytest.mark.parametrize(
    "documents",
    [
        [{"address-pools": []}],  # a bare config
        [{"apiVersion": "v1", "kind": "ConfigMap"}, {"apiVersion": "v1", "kind": "Service"}],
        [{"kind": "Service"}],  # no apiVersion: not a Kubernetes object
        [None],
        ["text"],
        [],
    ],
)
def test_only_kubernetes_objects_other_than_a_configmap_are_described(documents: list[object]) -> None:
    assert describe_non_config(documents, "f.yaml") is None


# --- item 6: binary and non-UTF-8 files --------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a text file (a NUL byte at offset 8"),
        ("address-pools: []  # caf\u00e9\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9 at offset 24)"),
        (
            "peers: []\n".encode("utf-16"),
            "is not a text file (a NUL byte at offset 3: binary data, or UTF-16",
        ),
    ],
    ids=["binary", "latin-1", "utf-16"],
)
def test_non_text_files_are_invalid_input_said_plainly(tmp_path: Path, data: bytes, expected: str) -> None:
    f = tmp_path / "x.yaml"
    f.write_bytes(data)
    runs = {
        "validate": ironlb("validate", str(f)),
        "validate -": ironlb("validate", "-", stdin=data),
        "plan -c": ironlb("plan", "-c", str(f), "-f", str(SAMPLES / "services" / "nodes.yaml")),
        "plan -f": ironlb("plan", "-c", str(SAMPLES / "layer2.yaml"), "-f", str(f)),
        "convert": ironlb("convert", str(f)),
        "convert -": ironlb("convert", "-", stdin=data),
    }
    for what, done in runs.items():
        assert (done.returncode, done.stdout) == (1, ""), what
        assert expected in done.stderr, (what, done.stderr)
        assert "codec" not in done.stderr and "Traceback" not in done.stderr, (what, done.stderr)
        assert done.stderr.count("\n") == 1, (what, done.stderr)


def test_a_manifest_directory_with_a_binary_file_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n")
    (tmp_path / "logo.yaml").write_bytes(b"\xff\xd8\xff\xe0")
    with pytest.raises(
        ClusterSourceUnavailable, match=r"logo\.yaml is not UTF-8 text \(byte 0xff at offset 0\)"
    ):
        ManifestSource([tmp_path]).snapshot()


def test_unreadable_file_stays_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --- item 12: IPv6 pool sizes ------------------------------------------------------------------


def test_validate_prints_large_ipv6_pools_as_prefix_and_power_of_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "address-pools:\n"
        "- {name: big, protocol: layer2, addresses: [192.0.2.0/24, '2001:db8::/64']}\n"
        "- {name: two, protocol: layer2, addresses: ['2001:db8:1::/64', '2001:db8:2::/64']}\n"
        "- {name: small, protocol: layer2, addresses: ['2001:db8:3::100-2001:db8:3::1ff']}\n"
    )
    assert main(["validate", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "  big: layer2, IPv4 256, IPv6 /64 (2^64 addresses); auto-assign\n" in out
    assert "  two: layer2, IPv6 2^65 addresses; auto-assign\n" in out
    assert "  small: layer2, IPv6 256; auto-assign\n" in out
    assert "addresses: IPv4 256, IPv6 about 2^65.6\n" in out
    assert not any(len(word) > 12 and word.isdigit() for word in out.split())
