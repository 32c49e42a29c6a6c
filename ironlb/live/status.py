"""``ironlb status``: per Service and per node, what ironlb's programs publish about what they do.

Pure: it assembles what was read (the cluster's objects, ironlb's Events, the speakers' Pods
and what each speaker's ``/metrics`` and ``/readyz`` answered) and says for every answer
where it comes from. Published answers come first, and nothing is recomputed while one
exists:

- who announces a Service: the speakers' ``ServiceL2Status`` / ``ServiceBGPStatus`` objects
  for it (node, IPs, interfaces or peers, as each speaker wrote them), less those the speakers'
  own metrics contradict (a killed speaker's leftovers, ``ironlb.live.stale``); for a Service that has
  none, the speakers' own ``ironlb_speaker_announced`` series (every speaker that answered;
  those that did not are named as unknown); only when no speaker answered at all, their
  ``nodeAssigned`` Events (the last node that started to announce, which may be stale). When
  none of these says anything, it is shown as not known: never computed from the config
  behind the user's back. A layer-2 owner's interfaces come from its status object, else
  from the config's advertisements (labelled ``interfaces from the config``); the sessions'
  state from the speaker's ``ironlb_bgp_session_up``;
- why a Service has no IP: the controller's last ``AllocationFailed`` /
  ``AdditionalAssignFailed`` Event; else computed by the controller's allocator (labelled);
- per node: the speaker's Pod Ready condition (what the kubelet read from ``/readyz``), else
  its ``/readyz`` answer; its membership view (``ironlb_membership_members``), BGP sessions
  (``ironlb_bgp_session_up``) and whether it runs on a stale config.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ironlb import services as svc
from ironlb.allocator import allocate_all
from ironlb.announce.inputs import build_inputs
from ironlb.announce.layer2 import IPDecision, planned_layer2
from ironlb.cluster.seam import ClusterSnapshot
from ironlb.config.model import Config
from ironlb.kube_types import Service
from ironlb.live.scrape import Scrape
from ironlb.live.stale import SetAside, split_current
from ironlb.statusobjects.kinds import SERVICE_BGP_STATUS, SERVICE_L2_STATUS
from ironlb.statusobjects.service import StatusObject, existing_object

NO_IP_REASONS = ("AllocationFailed", "AdditionalAssignFailed")
NODE_ASSIGNED = "nodeAssigned"
_ASSIGNED = re.compile(r'announcing from node "?([^"\s]+)"? with protocol "?([^"\s]+)"?')
"""MetalLB's message (quoted, as ironlb's speakers write it now) and the unquoted one of older speakers."""


@dataclass(frozen=True)
class EventLine:
    time: str
    type: str
    reason: str
    message: str
    component: str
    count: int = 1


@dataclass(frozen=True)
class Announcer:
    node: str
    protocol: str
    ips: tuple[str, ...]
    interfaces: tuple[str, ...] = ()
    """Layer 2: where the owner answers (globs from the config; empty: every eligible interface)."""
    peers: tuple[tuple[str, bool | None], ...] = ()
    """BGP: the node's sessions, each with its state from the speaker (None: not known)."""
    interfaces_source: str = "config"
    """Where ``interfaces`` come from: ``status object`` (the speaker's) or ``config``."""


@dataclass(frozen=True)
class ServiceStatus:
    key: str
    ips: tuple[str, ...]
    pool: str | None
    announcers: tuple[Announcer, ...]
    source: str
    """Where ``announcers`` come from."""
    unknown_nodes: tuple[str, ...] = ()
    """Nodes whose speaker did not answer: whether they announce it is not known."""
    no_ip: str | None = None
    no_ip_source: str | None = None
    events: tuple[EventLine, ...] = ()
    set_aside: tuple[SetAside, ...] = ()
    """Status objects of the Service that the speakers' own answers contradict (``ironlb.live.stale``)."""


@dataclass(frozen=True)
class NodeStatus:
    node: str
    speaker: str
    """``ready``, ``not ready: why``, or ``unknown``."""
    speaker_source: str
    metrics_url: str | None
    metrics_error: str = ""
    members: int | None = None
    sessions: tuple[tuple[str, bool], ...] = ()
    config_stale: bool | None = None
    announced: int | None = None


@dataclass(frozen=True)
class StatusReport:
    config: str
    services: tuple[ServiceStatus, ...]
    nodes: tuple[NodeStatus, ...]
    config_events: tuple[EventLine, ...] = ()
    programs: tuple[str, ...] = ()
    """What each program's ConfigurationState says about the config it runs on."""


def program_lines(states: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """One line per ``ConfigurationState``: ``controller: Valid, in force: Latest since T``."""
    out: list[str] = []
    for obj in sorted(states, key=lambda o: str((o.get("metadata") or {}).get("name") or "")):
        st = obj.get("status") or {}
        name = str((obj.get("metadata") or {}).get("name") or "?")
        line = f"{name}: {st.get('result') or 'not reported yet'}"
        if st.get("configInForce"):
            line += f", in force: {st['configInForce']}"
            if st.get("inForceSince"):
                line += f" since {st['inForceSince']}"
        if st.get("errorCount"):
            count = st["errorCount"]
            line += f"; {count} error{'' if count == 1 else 's'}: {st.get('errorSummary') or ''}".rstrip(": ")
        out.append(line)
    return tuple(out)


# -- events ----------------------------------------------------------------------------------------


def _event_time(e: Mapping[str, Any]) -> str:
    return str(e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp") or "")


def event_line(e: Mapping[str, Any]) -> EventLine:
    source = e.get("source") or {}
    return EventLine(
        time=_event_time(e),
        type=str(e.get("type") or ""),
        reason=str(e.get("reason") or ""),
        message=str(e.get("message") or ""),
        component=str(source.get("component") or e.get("reportingComponent") or ""),
        count=int(e.get("count") or 1),
    )


def events_by_object(events: Iterable[Mapping[str, Any]], kind: str) -> dict[str, list[EventLine]]:
    """Events per ``namespace/name`` of the objects of ``kind`` they are about, newest first."""
    out: dict[str, list[EventLine]] = {}
    for e in events:
        obj = e.get("involvedObject") or {}
        if obj.get("kind") != kind:
            continue
        key = f"{obj.get('namespace') or ''}/{obj.get('name') or ''}"
        out.setdefault(key, []).append(event_line(e))
    for lines in out.values():
        lines.sort(key=lambda line: line.time, reverse=True)
    return out


# -- who announces ---------------------------------------------------------------------------------


def _from_metrics(
    key: str, scrapes: Mapping[str, Scrape], layer2: Mapping[str, IPDecision]
) -> list[Announcer]:
    out: list[Announcer] = []
    for node, scrape in sorted(scrapes.items()):
        if scrape.metrics is None:
            continue
        by_protocol: dict[str, list[str]] = {}
        for a in scrape.metrics.announced:
            if a.service == key:
                by_protocol.setdefault(a.protocol, []).append(a.ip)
        for protocol, ips in sorted(by_protocol.items()):
            interfaces: tuple[str, ...] = ()
            if protocol == "layer2":
                interfaces = next((layer2[ip].interfaces for ip in ips if ip in layer2), ())
            peers = tuple((p, up) for p, up in scrape.metrics.sessions) if protocol == "bgp" else ()
            out.append(Announcer(node, protocol, tuple(ips), interfaces, peers))
    return out


def _from_events(ips: tuple[str, ...], events: Sequence[EventLine]) -> list[Announcer]:
    """The speakers' ``nodeAssigned`` Events: the newest layer-2 one, every BGP one."""
    out: list[Announcer] = []
    seen: set[tuple[str, str]] = set()
    for e in events:  # newest first
        m = _ASSIGNED.search(e.message) if e.reason == NODE_ASSIGNED else None
        if m is None:
            continue
        node, protocol = m.group(1), m.group(2)
        if (protocol == "layer2" and any(a.protocol == "layer2" for a in out)) or (node, protocol) in seen:
            continue
        seen.add((node, protocol))
        out.append(Announcer(node, protocol, ips))
    return out


def _from_objects(objects: Sequence[StatusObject], scrapes: Mapping[str, Scrape]) -> list[Announcer]:
    """What each speaker's status object for the Service says; session states from its metrics."""
    out: list[Announcer] = []
    for o in sorted(objects, key=lambda o: (o.node, o.kind)):
        if o.kind == SERVICE_L2_STATUS:
            out.append(Announcer(o.node, "layer2", o.ips, o.via, interfaces_source="status object"))
            continue
        scrape = scrapes.get(o.node)
        states = dict(scrape.metrics.sessions) if scrape is not None and scrape.metrics is not None else {}
        out.append(Announcer(o.node, "bgp", o.ips, (), tuple((p, states.get(p)) for p in o.via)))
    return out


def objects_by_service(raw: Iterable[Mapping[str, Any]]) -> dict[str, list[StatusObject]]:
    """The speakers' status objects per Service key (``namespace/name``)."""
    out: dict[str, list[StatusObject]] = {}
    for obj in raw:
        found = existing_object(obj)
        if found is not None and found.node:
            out.setdefault(f"{found.service.namespace}/{found.service.name}", []).append(found)
    return out


# -- the report ------------------------------------------------------------------------------------


def build_status(
    snapshot: ClusterSnapshot,
    config: Config | None,
    *,
    config_text: str,
    events: Iterable[Mapping[str, Any]],
    speaker_pods: Iterable[Mapping[str, Any]],
    scrapes: Mapping[str, Scrape],
    metrics_urls: Mapping[str, str],
    lb_class: str | None = None,
    select: tuple[str, str | None] | None = None,
    events_per_service: int = 5,
    configmap_key: str = "",
    status_objects: Iterable[Mapping[str, Any]] = (),
    configuration_states: Iterable[Mapping[str, Any]] = (),
) -> StatusReport:
    """Everything ``ironlb status`` shows; ``select`` is (namespace, name or None for all of it)."""
    managed = sorted((s for s in snapshot.services if svc.is_managed(s, lb_class)), key=svc.service_key)
    if select is not None:
        managed = [s for s in managed if _selected(svc.namespace_and_name(s), select)]
    by_service = events_by_object(events, "Service")
    read = sorted(n for n, s in scrapes.items() if s.metrics is not None)
    facts = _Facts(by_service, scrapes, read, (), config, objects_by_service(status_objects))
    if config is not None:
        facts = _decide(facts, config, snapshot, managed, lb_class)
    node_names = sorted(str((n.get("metadata") or {}).get("name") or "") for n in snapshot.nodes)
    facts = replace(facts, unknown=tuple(n for n in node_names if n not in read))
    services = tuple(_service_status(s, facts, events_per_service) for s in managed)
    pods = {str((p.get("spec") or {}).get("nodeName") or ""): p for p in speaker_pods}
    nodes = tuple(_node_status(n, pods.get(n), scrapes.get(n), metrics_urls.get(n)) for n in node_names)
    config_events = tuple(events_by_object(events, "ConfigMap").get(configmap_key, [])[:3])
    return StatusReport(config_text, services, nodes, config_events, program_lines(configuration_states))


@dataclass(frozen=True)
class _Facts:
    """What every Service's status is assembled from."""

    events: Mapping[str, list[EventLine]]
    scrapes: Mapping[str, Scrape]
    read: Sequence[str]
    """Nodes whose speaker's metrics were read."""
    unknown: tuple[str, ...]
    config: Config | None
    objects: Mapping[str, list[StatusObject]] = field(default_factory=dict)
    """The speakers' ServiceL2Status/ServiceBGPStatus objects, per Service."""
    layer2: Mapping[str, IPDecision] = field(default_factory=dict)
    """Per IP, the layer-2 decision of the config (its interfaces, when no status object says)."""
    refusals: Mapping[str, str] = field(default_factory=dict)
    """Computed: why each Service without IP gets none."""


def _decide(
    facts: _Facts,
    config: Config,
    snapshot: ClusterSnapshot,
    managed: Sequence[Service],
    lb_class: str | None,
) -> _Facts:
    """The config's own decisions, labelled where shown: layer-2 interfaces, allocation refusals."""
    inputs = build_inputs("", config, snapshot, (), lb_class=lb_class)
    layer2 = {str(d.ip): d for d in planned_layer2(inputs)}
    refusals: dict[str, str] = {}
    if any(not svc.ingress_ips(s) for s in managed):
        results = allocate_all(config, snapshot.services, lb_class, namespaces=snapshot.namespaces)
        refusals = {r.key: r.error for r in results if r.error}
    return replace(facts, layer2=layer2, refusals=refusals)


def _service_status(service: Service, facts: _Facts, keep: int) -> ServiceStatus:
    key = svc.service_key(service)
    ips = tuple(str(ip) for ip in svc.ingress_ips(service))
    events = facts.events.get(key, [])
    latest = tuple(events[:keep])
    pool = svc.allocated_from_pool(service)
    if not ips:
        no_ip, where = _why_no_ip(key, events, facts.refusals, facts.config is not None)
        return ServiceStatus(key, ips, pool, (), "", (), no_ip, where, latest)
    current, aside = split_current(facts.objects.get(key, []), facts.scrapes)
    shown = _announced(key, ips, pool, current, facts)
    return replace(shown, events=latest, set_aside=tuple(aside))


def _announced(
    key: str, ips: tuple[str, ...], pool: str | None, objects: Sequence[StatusObject], facts: _Facts
) -> ServiceStatus:
    """Who announces ``key``: its status objects, else the speakers' metrics, else their Events."""
    events = facts.events.get(key, [])
    if objects:
        nodes = sorted({o.node for o in objects})
        source = f"status objects ({SERVICE_L2_STATUS}/{SERVICE_BGP_STATUS} of {','.join(nodes)})"
        return ServiceStatus(key, ips, pool, tuple(_from_objects(objects, facts.scrapes)), source)
    if facts.read:
        announcers = _from_metrics(key, facts.scrapes, facts.layer2)
        answered = f"{len(facts.read)} of {len(facts.read) + len(facts.unknown)} nodes answered"
        return ServiceStatus(
            key, ips, pool, tuple(announcers), f"speaker metrics ({answered})", facts.unknown
        )
    from_events = _from_events(ips, events)
    if from_events:
        source = "nodeAssigned events (no speaker answered; the newest may be stale)"
        return ServiceStatus(key, ips, pool, tuple(from_events), source, facts.unknown)
    source = "not known: no status object, no speaker answered, no nodeAssigned event"
    return ServiceStatus(key, ips, pool, (), source, facts.unknown)


def _why_no_ip(
    key: str, events: Sequence[EventLine], refusals: Mapping[str, str], have_config: bool
) -> tuple[str, str]:
    """The controller's last word on why ``key`` has no IP, else the allocator's (computed)."""
    failure = next((e for e in events if e.reason in NO_IP_REASONS), None)
    allocated = next((e for e in events if e.reason == "IPAllocated"), None)
    if failure is not None and (allocated is None or failure.time >= allocated.time):
        return failure.message, f"event {failure.reason} {failure.time}"
    if key in refusals:
        return refusals[key], "computed from the config (no event says why)"
    if not have_config:
        return "not known", "no event says why, and no valid config to compute it"
    return (
        "not yet allocated",
        "no event says why; the config would give it an IP (is the controller running?)",
    )


def _selected(ns_name: tuple[str, str], select: tuple[str, str | None]) -> bool:
    return ns_name[0] == select[0] and (select[1] is None or ns_name[1] == select[1])


def _pod_ready(pod: Mapping[str, Any]) -> bool | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return None


def _node_status(
    node: str, pod: Mapping[str, Any] | None, scrape: Scrape | None, url: str | None
) -> NodeStatus:
    pod_name = str((pod or {}).get("metadata", {}).get("name") or "")
    ready = _pod_ready(pod) if pod is not None else None
    if ready is not None:
        speaker = "ready" if ready else "not ready"
        source = f"Pod {pod_name}"
        if not ready and scrape is not None and scrape.not_ready:
            speaker += f": {scrape.not_ready.removeprefix('not ready: ')}"
    elif scrape is not None and scrape.ready is not None:
        speaker = "ready" if scrape.ready else f"not ready: {scrape.not_ready.removeprefix('not ready: ')}"
        source = "its /readyz"
    else:
        speaker = "unknown"
        source = (
            "no speaker Pod, and its /readyz did not answer"
            if pod is None
            else f"Pod {pod_name} has no Ready condition"
        )
    metrics = scrape.metrics if scrape is not None else None
    return NodeStatus(
        node=node,
        speaker=speaker,
        speaker_source=source,
        metrics_url=url,
        metrics_error=scrape.error if scrape is not None and metrics is None else "",
        members=metrics.members if metrics else None,
        sessions=metrics.sessions if metrics else (),
        config_stale=metrics.config_stale if metrics else None,
        announced=len(metrics.announced) if metrics else None,
    )


def age(stamp: str, now: dt.datetime) -> str:
    """``2026-01-02T03:04:05Z`` -> ``3m5s`` before ``now`` (kubectl's short form); the stamp if unparsable."""
    try:
        then = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp or "-"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60}s" if seconds < 600 else f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60}m"
    return f"{seconds // 86400}d"
