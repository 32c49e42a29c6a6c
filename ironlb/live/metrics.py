"""A speaker's ``/metrics`` and ``/readyz`` answers, read into what ``ironlb status`` shows of it.

The speaker publishes what it does as Prometheus series (``speaker.metrics``,
``speaker.bgp.metrics``): ``ironlb_speaker_announced{service,protocol,node,ip}`` per IP it
announces, ``ironlb_bgp_session_up{peer}`` per BGP session, ``ironlb_membership_members`` (how
many speakers it sees live, itself included) and ``ironlb_config_stale_bool``. Parsed with
prometheus-client's own text parser; pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

ANNOUNCED = "ironlb_speaker_announced"
SESSION_UP = "ironlb_bgp_session_up"
MEMBERS = "ironlb_membership_members"
CONFIG_STALE = "ironlb_config_stale_bool"


@dataclass(frozen=True)
class Announced:
    service: str
    protocol: str
    ip: str


@dataclass(frozen=True)
class SpeakerMetrics:
    node: str | None = None
    """The node the series name (``node`` label of ``ironlb_speaker_announced``), when any."""
    announced: tuple[Announced, ...] = ()
    sessions: tuple[tuple[str, bool], ...] = ()
    """(peer, established) per BGP session the speaker tracks, sorted by peer."""
    members: int | None = None
    config_stale: bool | None = None
    series: dict[str, int] = field(default_factory=dict, compare=False)
    """How many samples of each ironlb family were read (to tell an empty speaker from a foreign port)."""


class NotSpeakerMetrics(ValueError):
    """The text is not Prometheus exposition, or carries none of a speaker's series."""


def parse_speaker_metrics(text: str) -> SpeakerMetrics:
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise NotSpeakerMetrics(f"not Prometheus metrics: {exc}") from None
    announced: list[Announced] = []
    sessions: dict[str, bool] = {}
    members: int | None = None
    stale: bool | None = None
    node: str | None = None
    series: dict[str, int] = {}
    for family in families:
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if not name.startswith("ironlb_"):
                continue
            series[name] = series.get(name, 0) + 1
            if name == ANNOUNCED and value:
                node = node or labels.get("node")
                announced.append(
                    Announced(labels.get("service", ""), labels.get("protocol", ""), labels.get("ip", ""))
                )
            elif name == SESSION_UP:
                sessions[labels.get("peer", "")] = bool(value)
            elif name == MEMBERS:
                members = int(value)
            elif name == CONFIG_STALE:
                stale = bool(value)
    if members is None and not series.get(SESSION_UP) and not series.get(CONFIG_STALE):
        raise NotSpeakerMetrics("no ironlb speaker series (ironlb_membership_members, ironlb_bgp_session_up)")
    return SpeakerMetrics(
        node=node,
        announced=tuple(sorted(announced, key=lambda a: (a.service, a.protocol, a.ip))),
        sessions=tuple(sorted(sessions.items())),
        members=members,
        config_stale=stale,
        series=series,
    )
