"""Status write-back for the manifest-directory source: records, overlay, atomic files, ManifestSource."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

import yaml

from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.statusdir import STATUS_DIRNAME, StatusDir, StatusRecord, normalize, overlay
from ironlb.kube_types import Service

POOL = "ironlb.io/ip-allocated-from-pool"


def service(name: str, *, ips: tuple[str, ...] = (), annotations: dict[str, str] | None = None) -> Service:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default", "annotations": dict(annotations or {})},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
    }
    if ips:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in ips]}}
    return cast(Service, obj)


def write_manifests(directory: Path, *objs: Service) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "services.yaml").write_text(yaml.safe_dump_all([dict(o) for o in objs]))


def test_overlay_sets_ingress_as_vip_and_annotations_without_touching_the_input() -> None:
    base = service("web", annotations={"keep": "me", POOL: "old"})
    record = StatusRecord("default/web", ("198.51.100.1",), {POOL: "ecmp", "keep": None})
    out = overlay(base, record)
    assert out["status"]["loadBalancer"]["ingress"] == [{"ip": "198.51.100.1", "ipMode": "VIP"}]
    assert out["metadata"]["annotations"] == {POOL: "ecmp"}
    assert "status" not in base and base["metadata"]["annotations"] == {"keep": "me", POOL: "old"}


def test_overlay_with_empty_ingress_clears_the_manifests_status() -> None:
    out = overlay(service("web", ips=("10.0.0.1",)), StatusRecord("default/web", ()))
    assert not out["status"]["loadBalancer"].get("ingress")
    # None leaves the manifest's own status alone
    kept = overlay(service("web", ips=("10.0.0.1",)), StatusRecord("default/web", None, {POOL: "p"}))
    assert kept["status"]["loadBalancer"]["ingress"][0]["ip"] == "10.0.0.1"


def test_normalize_drops_what_the_manifest_already_says() -> None:
    base = service("web", ips=("10.0.0.1",), annotations={POOL: "p"})
    assert normalize(base, StatusRecord("default/web", ("10.0.0.1",), {POOL: "p"})) is None
    assert normalize(service("web"), StatusRecord("default/web", (), {POOL: None})) is None
    changed = normalize(base, StatusRecord("default/web", ("10.0.0.2",), {POOL: "p"}))
    assert changed == StatusRecord("default/web", ("10.0.0.2",), {})


def test_status_dir_round_trip_atomic_and_prune(tmp_path: Path) -> None:
    status = StatusDir.of(tmp_path)
    one = StatusRecord("default/web", ("198.51.100.1", "2001:db8::1"), {POOL: "ecmp"})
    two = StatusRecord("other/db", (), {POOL: None})
    status.write(one)
    status.write(two)
    assert status.read_all() == {"default/web": one, "other/db": two}
    # no temp file is left behind, one file per Service
    assert sorted(os.listdir(tmp_path / STATUS_DIRNAME)) == ["default%2Fweb.json", "other%2Fdb.json"]
    # damaged or foreign files are skipped, never fatal
    (tmp_path / STATUS_DIRNAME / "junk.json").write_text("{not json")
    (tmp_path / STATUS_DIRNAME / "x%2Fy.json").write_text(json.dumps({"key": "a/b", "ingress": None}))
    assert set(status.read_all()) == {"default/web", "other/db"}
    assert status.prune(["default/web"]) == ["other/db"]
    assert set(status.read_all()) == {"default/web"}
    assert status.remove("default/web") and not status.remove("default/web")


def test_manifest_source_lays_statuses_over_services_and_changes_revision(tmp_path: Path) -> None:
    write_manifests(tmp_path, service("web"), service("db", ips=("10.0.0.9",)))
    source = ManifestSource([tmp_path])
    before = source.snapshot()
    status = StatusDir.of(tmp_path)
    status.write(StatusRecord("default/web", ("198.51.100.1",), {POOL: "ecmp"}))
    status.write(StatusRecord("default/gone", ("198.51.100.2",), {}))  # no such Service: ignored
    after = source.snapshot()
    assert after.revision != before.revision
    by_name = {s["metadata"]["name"]: s for s in after.services}
    assert set(by_name) == {"web", "db"}  # the status files are not read as manifests
    assert by_name["web"]["status"]["loadBalancer"]["ingress"] == [{"ip": "198.51.100.1", "ipMode": "VIP"}]
    assert by_name["web"]["metadata"]["annotations"][POOL] == "ecmp"
    assert by_name["db"]["status"]["loadBalancer"]["ingress"][0]["ip"] == "10.0.0.9"
    # the controller's own view: without overlays
    raw = ManifestSource([tmp_path], status_overlays=False).snapshot()
    assert all("status" not in s for s in raw.services if s["metadata"]["name"] == "web")
