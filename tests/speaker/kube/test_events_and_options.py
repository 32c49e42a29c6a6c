"""nodeAssigned bookkeeping (pure diff, sink calls) and the cluster-source flags."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any, cast

import pytest

from ironlb.announce.inputs import Announcement
from ironlb.kube_types import Service
from speaker.events import NODE_ASSIGNED, LogSink, NodeAssignedEvents, started
from speaker.options import parse_options

IP1, IP2 = ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("2001:db8::1")


def ann(svc: str, protocol: str = "layer2", ip: object = IP1) -> Announcement:
    return Announcement(svc, protocol, "n1", ip)  # type: ignore[arg-type]


class Sink:
    """Records what would become Events (our own seam: the real recorder is tested against the double)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Mapping[str, Any], str, str]] = []

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.calls.append((obj, reason, message))


def test_started_reports_only_new_service_protocol_pairs() -> None:
    now, new = started(frozenset(), [ann("a/x"), ann("a/x", ip=IP2), ann("a/y", "bgp")])
    assert new == [("a/x", "layer2"), ("a/y", "bgp")]  # two IPs of one Service: one pair
    now2, new2 = started(now, [ann("a/x"), ann("a/y", "bgp"), ann("a/y", "layer2")])
    assert new2 == [("a/y", "layer2")]
    now3, new3 = started(now2, [ann("a/y", "bgp")])
    assert new3 == [] and now3 == {("a/y", "bgp")}
    _, again = started(now3, [ann("a/x")])
    assert again == [("a/x", "layer2")]  # stopped, then back: a new Event


def test_events_go_to_the_service_object_once_per_start() -> None:
    sink = Sink()
    events = NodeAssignedEvents(sink)
    web = cast(Service, {"metadata": {"name": "web", "namespace": "apps", "uid": "u-1"}})
    assert events.update("n1", [ann("apps/web"), ann("apps/gone", "bgp")], [web]) == 2
    assert events.update("n1", [ann("apps/web"), ann("apps/gone", "bgp")], [web]) == 0
    (obj_bgp, reason, msg_bgp), (obj, _, msg) = sink.calls
    assert reason == NODE_ASSIGNED
    assert obj["kind"] == "Service" and obj["metadata"]["uid"] == "u-1"
    assert msg == 'announcing from node "n1" with protocol "layer2"'
    assert msg_bgp == 'announcing from node "n1" with protocol "bgp"'
    assert obj_bgp["metadata"] == {"namespace": "apps", "name": "gone"}  # not in the snapshot: by name


def test_log_sink_names_the_service(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="speaker.events")
    NodeAssignedEvents(LogSink()).update("n1", [ann("apps/web")], [])
    (rec,) = caplog.records
    assert "apps/web" in rec.getMessage() and 'protocol "layer2"' in rec.getMessage()
    assert rec.event == NODE_ASSIGNED  # type: ignore[attr-defined]


BASE = {"NODE_NAME": "n1", "IRONLB_MEMBERSHIP_KEY_FILE": "/k"}


@pytest.mark.parametrize(
    ("argv", "env", "manifests", "kubeconfig"),
    [
        (["--manifests", "/m"], {"KUBECONFIG": "/kc"}, "/m", None),  # manifests win over the environment
        (["--kubeconfig", "/kc2"], {"KUBECONFIG": "/kc"}, None, "/kc2"),  # the flag wins
        ([], {"KUBECONFIG": "/kc"}, None, "/kc"),
        ([], {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, None, None),  # in-cluster credentials
        ([], {}, None, None),  # then ~/.kube/config, as kubectl
    ],
)
def test_cluster_source_flags(
    argv: list[str], env: dict[str, str], manifests: str | None, kubeconfig: str | None
) -> None:
    o = parse_options(argv, {**BASE, **env})
    assert (o.manifests, o.kubeconfig) == (manifests, kubeconfig)


def test_two_sources_are_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        parse_options(["--manifests", "/m", "--kubeconfig", "/kc"], BASE)
    assert exc.value.code == 2
