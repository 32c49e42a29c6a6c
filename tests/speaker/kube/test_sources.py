"""The manifest source re-reads its files only when their stat fingerprint changes.

File times are set explicitly (``os.utime``) and the clock is injected, so no test
depends on timing. The real ``ManifestSource`` underneath counts as the reader.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.seam import ClusterSourceUnavailable
from ironlb.cluster.statusdir import StatusDir, StatusRecord
from speaker.sources import RACY_NS, StatCachedSource, fingerprint, trusted

OLD = 1_600_000_000 * 10**9  # file times far in the past
NOW = OLD + 100 * 10**9


def service(name: str, ip: str | None = None) -> dict[str, object]:
    doc: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {"type": "LoadBalancer"},
    }
    if ip:
        doc["status"] = {"loadBalancer": {"ingress": [{"ip": ip}]}}
    return doc


def write(path: Path, docs: list[dict[str, object]], mtime_ns: int = OLD) -> None:
    path.write_text(yaml.safe_dump_all(docs))
    os.utime(path, ns=(mtime_ns, mtime_ns))


def age(root: Path, mtime_ns: int = OLD) -> None:
    """Set every mtime below root (ctime cannot be set: the clock is placed after it instead)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), ns=(mtime_ns, mtime_ns))
    os.utime(root, ns=(mtime_ns, mtime_ns))


class Clock:
    """Far enough after every ctime that nothing is racy, unless told otherwise."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.racy = False

    def __call__(self) -> int:
        newest = max(max(s[1], s[2]) for s in fingerprint([self.root]))
        return newest + (RACY_NS // 2 if self.racy else 10 * RACY_NS)


def names(src: StatCachedSource) -> list[str]:
    return sorted(s["metadata"]["name"] for s in src.snapshot().services)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    d = tmp_path / "cluster"
    d.mkdir()
    write(d / "a.yaml", [service("a")])
    age(d)
    return d


def test_unchanged_files_are_read_once(tree: Path) -> None:
    src = StatCachedSource(ManifestSource([tree]), clock_ns=Clock(tree))
    first = src.snapshot()
    for _ in range(5):
        assert src.snapshot() is first
    assert src.reads == 1


@pytest.mark.parametrize(
    "change",
    ["same-size-rewrite", "new-file", "removed-file", "subdirectory-file", "status-overlay"],
)
def test_every_kind_of_change_is_read(tree: Path, change: str) -> None:
    src = StatCachedSource(ManifestSource([tree]), clock_ns=Clock(tree))
    assert names(src) == ["a"]
    if change == "same-size-rewrite":
        write(tree / "a.yaml", [service("b")], mtime_ns=OLD)  # same size, same mtime: ctime tells
        expected = ["b"]
    elif change == "new-file":
        write(tree / "b.yaml", [service("b")])
        expected = ["a", "b"]
    elif change == "removed-file":
        (tree / "a.yaml").unlink()
        expected = []
    elif change == "subdirectory-file":
        (tree / "sub").mkdir()
        write(tree / "sub" / "c.yaml", [service("c")])
        expected = ["a", "c"]
    else:
        StatusDir.of(tree).write(StatusRecord("apps/a", ("192.0.2.9",)))
        expected = ["a"]
    age(tree)
    assert names(src) == expected
    assert src.reads == 2
    if change == "status-overlay":
        (svc,) = src.snapshot().services
        assert svc["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.9"


def test_racy_fingerprint_is_read_again_until_it_settles(tree: Path) -> None:
    clock = Clock(tree)
    clock.racy = True
    src = StatCachedSource(ManifestSource([tree]), clock_ns=clock)
    src.snapshot()
    src.snapshot()
    assert src.reads == 2  # written just before the read: not trusted
    clock.racy = False
    src.snapshot()
    src.snapshot()
    assert src.reads == 3  # old enough now: trusted, no more reads


def test_unreadable_source_is_reported_every_time_and_recovers(tree: Path) -> None:
    src = StatCachedSource(ManifestSource([tree]), clock_ns=Clock(tree))
    assert names(src) == ["a"]
    backup = tree.parent / "backup"
    shutil.move(tree, backup)
    for _ in range(2):
        with pytest.raises(ClusterSourceUnavailable):
            src.snapshot()
    (tree / "broken.yaml").parent.mkdir()
    (tree / "broken.yaml").write_text("a: [unclosed\n")
    with pytest.raises(ClusterSourceUnavailable):
        src.snapshot()
    shutil.rmtree(tree)
    shutil.move(backup, tree)
    assert names(src) == ["a"]


def test_trusted_is_strict_about_the_margin() -> None:
    stamp = ("f", 1000, 1000, 1, 1)
    assert trusted([stamp], 1000 + 11, racy_ns=10)
    assert not trusted([stamp], 1000 + 10, racy_ns=10)
    assert not trusted([stamp, ("g", 5000, 900, 1, 2)], 1000 + 11, racy_ns=10)
    assert trusted([], 100, racy_ns=10)  # nothing to distrust
