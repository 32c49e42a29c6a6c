"""The layer-2 backend: owns the responders, follows the election, sends gratuitous bursts.

``apply`` takes the full announcement inputs, asks the pure election
(``ironlb.announce.layer2``) which IPs this node owns, and converges: a lost IP
stops being answered immediately (the shared ``Owned`` set changes before
anything else happens); a won IP is answered immediately and announced with a
gratuitous ARP (request and reply) or unsolicited NA at once and then
``GRATUITOUS_REPEATS`` more times, spaced more than Linux's one-second ARP
locktime apart so that neighbours that ignored the first one take a later one.
When speakers this node held dead come back after it was cut off (its link
returning, a healed partition: see :func:`rejoined_after_isolation`), interfaces
are rescanned at once and the IPs it still owns are announced again the same
way: while it was cut off, the others took them over and pointed the segment's
neighbour caches elsewhere, and in this node's own view it never lost them, so
nothing else would bring the traffic back until those caches expire.
Interfaces are rescanned periodically and on config changes; an IP is answered and
announced only on the interfaces its L2Advertisements name (``Owned.owns``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from ironlb.announce.inputs import AnnounceInputs, Announcement, AnnounceProtocol
from ironlb.announce.layer2 import layer2_decisions
from ironlb.config.model import IPAddress
from speaker import metrics
from speaker.layer2.interfaces import Link, read_links, select_interfaces
from speaker.layer2.responder import InterfaceResponder, Owned

log = logging.getLogger(__name__)

GRATUITOUS_REPEATS = 4
GRATUITOUS_SPACING = 1.2
RESCAN_INTERVAL = 5.0


def rejoined_after_isolation(before: frozenset[str] | None, now: frozenset[str], me: str) -> frozenset[str]:
    """The speakers back since ``before`` when this node may have been cut off from them, else none.

    Cut off means: it held every other speaker dead, or several came back at once
    (a healed partition). One speaker coming back is a restart or a new node: the
    others never took this node's IPs, so re-announcing them all would only flood
    the segment with gratuitous ARP on every rolling update.
    """
    if before is None:
        return frozenset()
    back = now - before - {me}
    alone = before <= {me}
    return back if back and (alone or len(back) > 1) else frozenset()


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
    ) -> None:
        self._read_links = links
        self._rescan_interval = rescan_interval
        self.owned = Owned()
        self._owned_ips: dict[IPAddress, tuple[str, ...]] = {}
        self._responders: dict[str, InterfaceResponder] = {}
        self._bursts: dict[IPAddress, asyncio.Task[None]] = {}
        self._globs: tuple[str, ...] = ()
        self._stopped = asyncio.Event()
        self._rescan_lock = asyncio.Lock()
        self.node = ""
        self._scanned = False
        self._live: frozenset[str] | None = None
        self.on_interfaces_changed: Callable[[], None] | None = None
        """Called when a rescan opened or closed a responder (what ``Announcement.via`` says changed)."""

    @property
    def name(self) -> AnnounceProtocol:
        return "layer2"

    @property
    def interfaces(self) -> tuple[str, ...]:
        return tuple(sorted(self._responders))

    async def run(self) -> None:
        while not self._stopped.is_set():
            try:
                await asyncio.wait_for(self._stopped.wait(), self._rescan_interval)
            except TimeoutError:
                await self.rescan()
                for r in self._responders.values():
                    r.collect_kernel_drops()

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
            for name, link in wanted.items():
                if name in self._responders:
                    continue
                r = InterfaceResponder(link, self.owned)
                try:
                    r.open()
                except PermissionError:
                    # Without CAP_NET_RAW this speaker would win IPs it cannot answer for: stop instead.
                    raise
                except OSError as exc:
                    log.warning("cannot answer on %s: %s", name, exc)
                    continue
                self._responders[name] = r
                r.sync_groups()
                for ip in self._owned_ips:
                    if self.owned.owns(ip.packed, name):
                        self._count_gratuitous(ip, r.gratuitous(ip.packed))
            if set(self._responders) != before and self._owned_ips and self.on_interfaces_changed:
                self.on_interfaces_changed()

    async def apply(self, inputs: AnnounceInputs) -> Sequence[Announcement]:
        self.node = inputs.node
        globs = answering_globs(inputs)
        if globs != self._globs or not self._scanned:
            self._globs = globs
            await self.rescan()
        decisions = layer2_decisions(inputs)
        owned = {d.ip: d.services for d in decisions if d.owner == inputs.node}
        only = {d.ip.packed: d.interfaces for d in decisions if d.owner == inputs.node and d.interfaces}
        moved = only != self.owned.interfaces
        lost = [ip for ip in self._owned_ips if ip not in owned]
        won = [ip for ip in owned if ip not in self._owned_ips]
        back = rejoined_after_isolation(self._live, inputs.live_speakers, inputs.node)
        self._live = inputs.live_speakers
        again = [ip for ip in owned if ip in self._owned_ips] if back else []
        # Stop answering lost IPs before anything else.
        for ip in lost:
            (self.owned.v4 if ip.version == 4 else self.owned.v6).discard(ip.packed)
            task = self._bursts.pop(ip, None)
            if task is not None:
                task.cancel()
        self.owned.interfaces = only  # before won IPs are answered: never on an interface not theirs
        for ip in won:
            (self.owned.v4 if ip.version == 4 else self.owned.v6).add(ip.packed)
        self._owned_ips = owned
        if back:
            # Cut off from the segment, this node may also have lost its links (and closed their
            # responders): answer on them again now rather than at the next periodic rescan.
            await self.rescan()
        if lost or won or moved:
            for r in self._responders.values():
                r.sync_groups()
        for ip in won:
            log.info(
                "announcing %s from node %s with protocol layer2",
                ip,
                inputs.node,
                extra={"services": list(owned[ip]), "event": "nodeAssigned"},
            )
            self._bursts[ip] = asyncio.get_running_loop().create_task(self._burst(ip))
        if again:
            log.info("speakers back (%s): announcing %d owned IPs again", ", ".join(sorted(back)), len(again))
        for ip in again:
            task = self._bursts.pop(ip, None)
            if task is not None:
                task.cancel()
            self._bursts[ip] = asyncio.get_running_loop().create_task(self._burst(ip))
        for ip in lost:
            log.info("no longer announcing %s", ip)
        return tuple(
            Announcement(service=svc, protocol="layer2", node=inputs.node, ip=ip, via=self.answered_on(ip))
            for ip, services in owned.items()
            for svc in services
        )

    def answered_on(self, ip: IPAddress) -> tuple[str, ...]:
        """The interfaces ``ip`` is answered on now (sorted; empty when it is not owned)."""
        return tuple(name for name in sorted(self._responders) if self.owned.owns(ip.packed, name))

    def _count_gratuitous(self, ip: IPAddress, n: int) -> None:
        if n:
            metrics.LAYER2_GRATUITOUS.labels(str(ip)).inc(n)

    async def _burst(self, ip: IPAddress) -> None:
        try:
            for i in range(GRATUITOUS_REPEATS + 1):
                if i:
                    await asyncio.sleep(GRATUITOUS_SPACING)
                if ip not in self._owned_ips:
                    return
                for r in list(self._responders.values()):
                    if self.owned.owns(ip.packed, r.link.name):
                        self._count_gratuitous(ip, r.gratuitous(ip.packed))
        finally:
            if self._bursts.get(ip) is asyncio.current_task():
                del self._bursts[ip]

    async def shutdown(self, *, graceful: bool) -> None:
        self._stopped.set()
        self.owned.v4.clear()
        self.owned.v6.clear()
        self.owned.interfaces.clear()
        self._owned_ips = {}
        for task in self._bursts.values():
            task.cancel()
        self._bursts.clear()
        for r in self._responders.values():
            r.close()
        self._responders.clear()
