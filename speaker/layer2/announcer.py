"""The layer-2 backend: owns the responders, follows the election, sends what the schedule says.

``apply`` takes the full announcement inputs, asks the pure election
(``ironlb.announce.layer2``) which IPs this node owns, and converges: a lost IP
stops being answered immediately (the shared ``Owned`` set changes before
anything else happens); a won IP is answered immediately. When to announce
(gratuitous ARP request and reply, or unsolicited NA) is the pure
``GratuitousSchedule``'s call: at once on a failover; after a start or a
comeback, once peers hear this node again; never again once ownership or
membership moved on; and at once when another MAC announces an IP this node
owns (the responders report those). ``release`` stops everything before a
graceful leave, so that no pending announcement of this node follows its
successor's. The membership learns whose IPs this node holds while they are
out (``held_for``), to tell them when they are back. When this node comes back
(it refuted a verdict the others acted on, or contact resumed after a cut),
interfaces are rescanned at once: cut off, it may also have lost its links.
Interfaces are rescanned periodically and on config changes; an IP is answered
and announced only on the interfaces its L2Advertisements name (``Owned.owns``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable, Sequence

from ironlb.announce.inputs import AnnounceInputs, Announcement, AnnounceProtocol
from ironlb.announce.layer2 import layer2_decisions, owner
from ironlb.config.model import IPAddress
from speaker import metrics
from speaker.layer2.gratuitous import GratuitousSchedule, GratuitousTiming, Standing
from speaker.layer2.holding import held_for
from speaker.layer2.interfaces import Link, read_links, select_interfaces
from speaker.layer2.responder import InterfaceResponder, Owned
from speaker.supervision import cancel_all

log = logging.getLogger(__name__)

RESCAN_INTERVAL = 5.0


def answering_globs(inputs: AnnounceInputs) -> tuple[str, ...]:
    """Where responders run: the union of the L2Advertisements' interfaces, or (empty) the default set
    when one of them names none; each IP is then answered only where its advertisements say."""
    ads = inputs.config.l2_advertisements
    if not ads or any(not ad.interfaces for ad in ads):
        return ()
    return tuple(dict.fromkeys(glob for ad in ads for glob in ad.interfaces))


class Layer2Announcer:
    def __init__(
        self,
        *,
        links: Callable[[], list[Link]] = read_links,
        rescan_interval: float = RESCAN_INTERVAL,
        timing: GratuitousTiming | None = None,
        standing: Callable[[], Standing] = Standing,
        holding: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        self._read_links = links
        self._rescan_interval = rescan_interval
        self._standing = standing
        """This node's place in the membership (isolated? came back? in touch?), read at each apply."""
        self._holding = holding
        """Told at each apply whose IPs this node may be holding (``held_for``): the membership tells
        each of them when it is back, so that it announces them again."""
        self._speakers: set[str] = set()
        """Every node seen live (and still a Node): those not live now are out."""
        self.timing = timing or GratuitousTiming()
        self.owned = Owned()
        self._own_macs: set[bytes] = set()
        self._owned_ips: dict[IPAddress, tuple[str, ...]] = {}
        self._responders: dict[str, InterfaceResponder] = {}
        self._schedule = GratuitousSchedule("", self.timing)
        self._wake = asyncio.Event()
        self._globs: tuple[str, ...] = ()
        self._stopped = asyncio.Event()
        self._rescan_lock = asyncio.Lock()
        self.node = ""
        self._scanned = False
        self._released = False
        self.on_interfaces_changed: Callable[[], None] | None = None
        """Called when a rescan opened or closed a responder (what ``Announcement.via`` says changed)."""

    @property
    def name(self) -> AnnounceProtocol:
        return "layer2"

    @property
    def interfaces(self) -> tuple[str, ...]:
        return tuple(sorted(self._responders))

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def run(self) -> None:
        announcing = asyncio.create_task(self._announce_loop(), name="layer2-announce")
        try:
            while not self._stopped.is_set():
                try:
                    async with asyncio.timeout(self._rescan_interval):  # not wait_for: gh-86296 on 3.11
                        await self._stopped.wait()
                except TimeoutError:
                    await self.rescan()
                    for r in self._responders.values():
                        r.collect_kernel_drops()
        finally:
            await cancel_all([announcing])

    async def _announce_loop(self) -> None:
        """Send what the schedule says when it says so; woken early by ``apply`` and conflicts."""
        while not self._stopped.is_set():
            self._send_due()
            delay = self._schedule.next_deadline() - self._now()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, min(delay, 3600.0))):  # not wait_for: gh-86296 on 3.11
                    await self._wake.wait()

    def _send_due(self) -> None:
        for ip in self._schedule.due(self._now()):
            for r in list(self._responders.values()):
                if self.owned.owns(ip.packed, r.link.name):
                    self._count_gratuitous(ip, r.gratuitous(ip.packed))

    async def rescan(self) -> None:
        """Open responders on newly selected interfaces, close those no longer selected."""
        async with self._rescan_lock:
            try:
                links = await asyncio.to_thread(self._read_links)
            except OSError as exc:
                log.warning("cannot list interfaces: %s", exc)
                return
            if self._stopped.is_set():
                return
            self._scanned = True
            before = set(self._responders)
            wanted = {lk.name: lk for lk in select_interfaces(links, self._globs)}
            for name in list(self._responders):
                r = self._responders[name]
                if name not in wanted or wanted[name].mac != r.link.mac or wanted[name].index != r.link.index:
                    log.info("no longer answering on %s", name)
                    r.close()
                    del self._responders[name]
            self._own_macs.clear()
            self._own_macs.update(lk.mac for lk in wanted.values())
            for name, link in wanted.items():
                if name not in self._responders:
                    self._open(link)
            if set(self._responders) != before and self._owned_ips and self.on_interfaces_changed:
                self.on_interfaces_changed()

    def _open(self, link: Link) -> None:
        r = InterfaceResponder(link, self.owned, own_macs=self._own_macs, on_conflict=self._conflict)
        try:
            r.open()
        except PermissionError:
            # Without CAP_NET_RAW this speaker would win IPs it cannot answer for: stop instead.
            raise
        except OSError as exc:
            log.warning("cannot answer on %s: %s", link.name, exc)
            return
        self._responders[link.name] = r
        r.sync_groups()
        if not self._schedule.standing.isolated:
            for ip in self._owned_ips:
                # a pending one goes out on every interface of the IP when due
                if not self._schedule.pending(ip) and self.owned.owns(ip.packed, link.name):
                    self._count_gratuitous(ip, r.gratuitous(ip.packed))

    def _conflict(self, packed: bytes) -> None:
        """A responder saw another MAC announce an IP we own: the schedule decides when to answer."""
        ip = ipaddress.ip_address(packed)
        metrics.LAYER2_CONFLICTS.labels(str(ip)).inc()
        self._schedule.conflict(self._now(), ip)
        self._send_due()
        self._wake.set()

    async def apply(self, inputs: AnnounceInputs) -> Sequence[Announcement]:
        if self._released:
            return ()  # stopping: a successor owns our IPs from now on
        self.node = inputs.node
        self._schedule.me = inputs.node
        await self._follow_interfaces(inputs)
        decisions = [d for d in layer2_decisions(inputs) if d.owner == inputs.node]
        owned = {d.ip: d.services for d in decisions}
        only = {d.ip.packed: d.interfaces for d in decisions if d.interfaces}
        moved = only != self.owned.interfaces
        lost = [ip for ip in self._owned_ips if ip not in owned]
        won = [ip for ip in owned if ip not in self._owned_ips]
        standing = self._standing()
        came_back = standing.comebacks > self._schedule.standing.comebacks
        self._answer_for(owned, lost, won, only)
        successors = {d.ip: owner(d.ip, d.candidates - {inputs.node}) for d in decisions}
        self._tell_holding(inputs, owned)
        self._schedule.update(self._now(), successors, inputs.live_speakers, standing)
        self._send_due()
        self._wake.set()
        if came_back:
            log.info("back in the membership: announcing the %d IPs held here again", len(owned))
            # Cut off from the segment, this node may also have lost its links (and closed their
            # responders): answer on them again now rather than at the next periodic rescan.
            await self.rescan()
        if lost or won or moved:
            for r in self._responders.values():
                r.sync_groups()
        self._log_changes(inputs.node, owned, lost, won)
        return self._announcements(inputs.node, owned)

    def _tell_holding(self, inputs: AnnounceInputs, owned: dict[IPAddress, tuple[str, ...]]) -> None:
        live = inputs.live_speakers
        self._speakers = {n for n in self._speakers | live if n in inputs.nodes}
        if self._holding is not None:
            self._holding(held_for(inputs.node, owned, self._speakers - live))

    async def _follow_interfaces(self, inputs: AnnounceInputs) -> None:
        globs = answering_globs(inputs)
        if globs != self._globs or not self._scanned:
            self._globs = globs
            await self.rescan()

    def _announcements(self, node: str, owned: dict[IPAddress, tuple[str, ...]]) -> tuple[Announcement, ...]:
        return tuple(
            Announcement(service=svc, protocol="layer2", node=node, ip=ip, via=self.answered_on(ip))
            for ip, services in owned.items()
            for svc in services
        )

    def _answer_for(
        self,
        owned: dict[IPAddress, tuple[str, ...]],
        lost: list[IPAddress],
        won: list[IPAddress],
        only: dict[bytes, tuple[str, ...]],
    ) -> None:
        """Stop answering lost IPs first, then limit IPs to their interfaces, then answer won ones."""
        for ip in lost:
            (self.owned.v4 if ip.version == 4 else self.owned.v6).discard(ip.packed)
        self.owned.interfaces = only  # before won IPs are answered: never on an interface not theirs
        for ip in won:
            (self.owned.v4 if ip.version == 4 else self.owned.v6).add(ip.packed)
        self._owned_ips = owned

    @staticmethod
    def _log_changes(
        node: str, owned: dict[IPAddress, tuple[str, ...]], lost: list[IPAddress], won: list[IPAddress]
    ) -> None:
        for ip in won:
            log.info(
                "announcing %s from node %s with protocol layer2",
                ip,
                node,
                extra={"services": list(owned[ip]), "event": "nodeAssigned"},
            )
        for ip in lost:
            log.info("no longer announcing %s", ip)

    def answered_on(self, ip: IPAddress) -> tuple[str, ...]:
        """The interfaces ``ip`` is answered on now (sorted; empty when it is not owned)."""
        return tuple(name for name in sorted(self._responders) if self.owned.owns(ip.packed, name))

    def _count_gratuitous(self, ip: IPAddress, n: int) -> None:
        if n:
            metrics.LAYER2_GRATUITOUS.labels(str(ip)).inc(n)

    def release(self) -> None:
        """Stop answering and announcing everything, for good (before a graceful leave lets successors in)."""
        self._released = True
        self.owned.v4.clear()
        self.owned.v6.clear()
        self.owned.interfaces.clear()
        self._owned_ips = {}
        self._schedule.clear()

    async def shutdown(self, *, graceful: bool) -> None:
        self._stopped.set()
        self._wake.set()
        self.release()
        for r in self._responders.values():
            r.close()
        self._responders.clear()
