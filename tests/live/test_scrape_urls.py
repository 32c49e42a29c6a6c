"""Where ``ironlb status`` looks for each node's speaker: ``--speaker`` first, then the Pod, then the Node."""

from __future__ import annotations

from typing import Any

from ironlb.live.scrape import speaker_urls


def node(name: str, *addresses: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {"addresses": [{"type": t, "address": a} for t, a in addresses]},
    }


def pod(node_name: str, ip: str) -> dict[str, Any]:
    return {"spec": {"nodeName": node_name}, "status": {"podIP": ip}}


def test_explicit_then_pod_then_internal_then_external_ip() -> None:
    nodes = [
        node("a", ("InternalIP", "10.0.0.1")),
        node("b", ("ExternalIP", "192.0.2.2"), ("InternalIP", "10.0.0.2")),
        node("c", ("ExternalIP", "192.0.2.3"), ("Hostname", "c")),
        node("d", ("InternalIP", "fd00::4")),
        node("e", ("Hostname", "e")),
        node("f", ("InternalIP", "10.0.0.6")),
        {"metadata": {}},
    ]
    urls = speaker_urls(nodes, [pod("a", "10.1.0.1")], 7472, {"f": "http://x:9/metrics/", "zz": "http://y"})
    assert urls == {
        "a": "http://10.1.0.1:7472",
        "b": "http://10.0.0.2:7472",
        "c": "http://192.0.2.3:7472",
        "d": "http://[fd00::4]:7472",
        "f": "http://x:9",
    }


def test_a_pod_without_an_ip_falls_back_to_the_node() -> None:
    urls = speaker_urls([node("a", ("InternalIP", "10.0.0.1"))], [pod("a", "")], 1, {})
    assert urls == {"a": "http://10.0.0.1:1"}
