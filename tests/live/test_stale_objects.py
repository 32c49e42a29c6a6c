"""``ironlb status`` sets a status object aside only when the speakers' own answers contradict it."""

from __future__ import annotations

from ironlb.live.metrics import Announced, SpeakerMetrics
from ironlb.live.scrape import Scrape
from ironlb.live.stale import split_current
from ironlb.statusobjects.kinds import SERVICE_BGP_STATUS, SERVICE_L2_STATUS, StatusKind
from ironlb.statusobjects.service import ServiceOwner, StatusObject

WEB = ServiceOwner("apps", "web", "uid-web")
VIP = "192.0.2.10"


def obj(node: str, kind: StatusKind = SERVICE_L2_STATUS, ip: str = VIP) -> StatusObject:
    via = ("eth1",) if kind == SERVICE_L2_STATUS else ("peer1",)
    return StatusObject(kind, "apps", f"web.{node}", node, WEB, (ip,), via)


def answered(*announced: tuple[str, str]) -> Scrape:
    """A speaker that answered, announcing (protocol, ip) pairs."""
    series = tuple(Announced("apps/web", p, ip) for p, ip in announced)
    return Scrape("http://x:7473", SpeakerMetrics(announced=series, members=3), ready=True)


SILENT = Scrape("http://x:7473", None, error="connection refused")


def nodes(objects: list[StatusObject]) -> list[str]:
    return [o.node for o in objects]


def test_a_dead_owners_leftover_is_set_aside_when_the_node_that_took_over_answers() -> None:
    current, aside = split_current(
        [obj("n1"), obj("n2")], {"n1": SILENT, "n2": answered(("layer2", VIP)), "n3": answered()}
    )
    assert nodes(current) == ["n2"]
    assert [(a.obj.node, a.why) for a in aside] == [
        ("n1", f"its speaker does not answer, and n2 announces {VIP}")
    ]


def test_a_silent_speakers_object_is_kept_when_no_answering_speaker_announces_its_ip() -> None:
    current, aside = split_current([obj("n1")], {"n1": SILENT, "n2": answered(), "n3": answered()})
    assert nodes(current) == ["n1"] and aside == []


def test_objects_of_speakers_not_asked_are_kept() -> None:
    current, aside = split_current([obj("n1"), obj("n2")], {})
    assert nodes(current) == ["n1", "n2"] and aside == []


def test_an_answering_speaker_that_no_longer_announces_the_ip_contradicts_its_own_object() -> None:
    current, aside = split_current(
        [obj("n1"), obj("n2")], {"n1": answered(), "n2": answered(("layer2", VIP))}
    )
    assert nodes(current) == ["n2"]
    assert [(a.obj.node, a.why) for a in aside] == [
        ("n1", f"its speaker answers and does not announce {VIP}")
    ]


def test_bgp_objects_of_a_silent_speaker_are_kept_since_many_nodes_announce_one_ip() -> None:
    objects = [obj("n1", SERVICE_BGP_STATUS), obj("n2", SERVICE_BGP_STATUS)]
    current, aside = split_current(objects, {"n1": SILENT, "n2": answered(("bgp", VIP))})
    assert nodes(current) == ["n1", "n2"] and aside == []


def test_a_layer2_announcement_does_not_vouch_for_a_bgp_object() -> None:
    current, aside = split_current([obj("n1", SERVICE_BGP_STATUS)], {"n1": answered(("layer2", VIP))})
    assert current == [] and [a.obj.node for a in aside] == ["n1"]
