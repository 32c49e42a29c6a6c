"""The standalone controller over a manifest directory: allocation, adoption, release, last good config.

No network and no timing: each test calls ``step()`` and reads what a speaker would
read (``ManifestSource`` with the status overlays).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controller.standalone import StandaloneController
from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.statusdir import StatusDir

POOL = "ironlb.io/ip-allocated-from-pool"
CONFIG = """
address-pools:
- name: small
  protocol: bgp
  addresses: [198.51.100.1-198.51.100.2]
"""


def configmap(text: str) -> dict[str, Any]:
    meta = {"name": "ironlb", "namespace": "ironlb-system"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"config": text}}


def service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]}}  # fmt: skip


def put(directory: Path, name: str, *objs: dict[str, Any]) -> None:
    (directory / f"{name}.yaml").write_text(yaml.safe_dump_all(objs))


def seen(directory: Path) -> dict[str, tuple[str, ...]]:
    """Service name -> ingress IPs, as the speakers read them."""
    out = {}
    for s in ManifestSource([directory]).snapshot().services:
        ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        out[s["metadata"]["name"]] = tuple(e["ip"] for e in ingress)
    return out


def test_allocates_writes_status_and_pool_annotation(tmp_path: Path) -> None:
    put(tmp_path, "config", configmap(CONFIG))
    put(tmp_path, "web", service("web"))
    controller = StandaloneController(tmp_path)
    assert controller.step()
    assert seen(tmp_path) == {"web": ("198.51.100.1",)}
    (web,) = ManifestSource([tmp_path]).snapshot().services
    assert web["metadata"]["annotations"][POOL] == "small"
    assert web["status"]["loadBalancer"]["ingress"] == [{"ip": "198.51.100.1", "ipMode": "VIP"}]
    assert not controller.step()  # nothing changed since: no pass
    assert "status" not in (tmp_path / "web.yaml").read_text()  # the user's manifest is untouched


def test_a_restarted_controller_adopts_before_allocating(tmp_path: Path) -> None:
    put(tmp_path, "config", configmap(CONFIG))
    put(tmp_path, "zzz", service("zzz"))
    StandaloneController(tmp_path).step()
    assert seen(tmp_path) == {"zzz": ("198.51.100.1",)}
    # a Service that sorts first appears while no controller runs; the new one must not move zzz
    put(tmp_path, "aaa", service("aaa"))
    StandaloneController(tmp_path).step()
    assert seen(tmp_path) == {"zzz": ("198.51.100.1",), "aaa": ("198.51.100.2",)}


def test_delete_releases_and_a_refused_service_gets_the_freed_ip(tmp_path: Path) -> None:
    put(tmp_path, "config", configmap(CONFIG))
    for name in ("a", "b", "c"):
        put(tmp_path, name, service(name))
    controller = StandaloneController(tmp_path)
    controller.step()
    assert seen(tmp_path) == {"a": ("198.51.100.1",), "b": ("198.51.100.2",), "c": ()}
    (tmp_path / "a.yaml").unlink()
    controller.step()
    assert seen(tmp_path) == {"b": ("198.51.100.2",), "c": ("198.51.100.1",)}
    assert set(StatusDir.of(tmp_path).read_all()) == {"default/b", "default/c"}  # a's status is gone


def test_status_of_a_vanished_service_is_pruned_even_after_a_restart(tmp_path: Path) -> None:
    put(tmp_path, "config", configmap(CONFIG))
    put(tmp_path, "web", service("web"))
    StandaloneController(tmp_path).step()
    (tmp_path / "web.yaml").unlink()
    StandaloneController(tmp_path).step()  # never saw "web" itself
    assert StatusDir.of(tmp_path).read_all() == {}


def test_invalid_config_keeps_the_last_good_one(tmp_path: Path) -> None:
    put(tmp_path, "config", configmap(CONFIG))
    put(tmp_path, "web", service("web"))
    controller = StandaloneController(tmp_path)
    controller.step()
    put(
        tmp_path,
        "config",
        configmap("address-pools:\n- name: bad\n  protocol: bgp\n  addresses: [10.0.0.0/33]\n"),
    )
    put(tmp_path, "db", service("db"))
    controller.step()
    assert seen(tmp_path) == {"web": ("198.51.100.1",), "db": ("198.51.100.2",)}


def test_no_config_no_writes(tmp_path: Path) -> None:
    put(tmp_path, "web", service("web"))
    StandaloneController(tmp_path).step()
    assert seen(tmp_path) == {"web": ()}
    assert StatusDir.of(tmp_path).read_all() == {}
