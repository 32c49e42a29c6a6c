"""The asyncio UDP shell around the SWIM state machine.

Receives datagrams, verifies them (bad MAC: dropped and counted), feeds the
state machine with the loop's clock, sends what it returns, ticks at the state
machine's next deadline (woken early when a datagram brings one closer), and
calls ``on_change`` whenever the set of live speakers changes so the speaker
recomputes ownership at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from speaker import metrics
from speaker.membership import wire
from speaker.membership.swim import Addr, Standing, Stats, Swim, Timing

log = logging.getLogger(__name__)

TICK = 0.002
"""Shortest sleep between timer checks."""
MAX_SLEEP = 0.05
"""Longest sleep even when nothing is due (a safety net: a receive that brings a deadline closer wakes us)."""


@dataclass
class Counters:
    bad_mac: int = 0
    malformed: int = 0
    received: int = 0
    sent: int = 0


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: Membership) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        self.owner._datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("membership socket error: %s", exc)


class Membership:
    """One speaker's membership endpoint."""

    def __init__(
        self,
        name: str,
        key: bytes,
        *,
        bind: str = "0.0.0.0",
        port: int = 7946,
        timing: Timing | None = None,
        on_change: Callable[[frozenset[str]], None] | None = None,
        incarnation: int | None = None,
    ) -> None:
        self.key = key
        self.bind = bind
        self.port = port
        self.on_change = on_change
        self.swim = Swim(
            name,
            incarnation=incarnation if incarnation is not None else time.time_ns() // 1_000_000,
            timing=timing or Timing(),
        )
        self.counters = Counters()
        self._transport: asyncio.DatagramTransport | None = None
        self._live = self.swim.live()
        self._standing = self.standing()
        self._stopped = asyncio.Event()
        self._wake = asyncio.Event()
        self._wake_at = 0.0
        self._counted = Stats()

    @property
    def live(self) -> frozenset[str]:
        return self._live

    def standing(self) -> Standing:
        """This speaker's own place in the membership, as layer 2 needs it."""
        return self.swim.standing()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.bind, self.port), family=family
        )
        self._transport = transport
        metrics.MEMBERSHIP_SIZE.set(len(self._live))

    def set_peers(self, peers: Mapping[str, Addr]) -> None:
        self.swim.set_peers(peers, self._now())
        self._changed()

    def set_holding(self, peers: frozenset[str]) -> None:
        """Whose IPs this node answers for while they are out (layer 2 says): each is told when back."""
        self.swim.set_holding(peers)

    async def run(self) -> None:
        """Run the timers until stopped, waking at the state machine's next deadline."""
        while not self._stopped.is_set():
            self._send(self.swim.tick(self._now()))
            self._changed()
            delay = min(max(self.swim.due - self._now(), TICK), MAX_SLEEP)
            self._wake_at = self._now() + delay
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # not wait_for: it can lose a cancel on 3.11 (gh-86296)
                    await self._wake.wait()

    def _send(self, out: list[tuple[Addr, wire.Message]]) -> None:
        if self._transport is None:
            return
        for addr, msg in out:
            try:
                self._transport.sendto(wire.encode(msg, self.key), addr)
                self.counters.sent += 1
            except OSError as exc:
                log.debug("membership send to %s failed: %s", addr, exc)

    def _datagram(self, data: bytes, src: Addr) -> None:
        self.counters.received += 1
        try:
            msg = wire.decode(data, self.key)
        except wire.BadMac:
            self.counters.bad_mac += 1
            metrics.MEMBERSHIP_BAD_MAC.inc()
            return
        except wire.Malformed:
            self.counters.malformed += 1
            metrics.MEMBERSHIP_MALFORMED.inc()
            return
        self._send(self.swim.receive(msg, src, self._now()))
        self._changed()
        if self.swim.due < self._wake_at:
            self._wake.set()  # e.g. a ping-req: its nack is due before our planned wake-up

    def _changed(self) -> None:
        for name, old, new, inc in self.swim.transitions:
            log.info("member %s: %s -> %s (incarnation %d)", name, old, new, inc)
        self.swim.transitions.clear()
        self._count(self.swim.stats)
        metrics.MEMBERSHIP_HEALTH.set(self.swim.health)
        live, standing = self.swim.live(), self.standing()
        changed = (live, standing) != (self._live, self._standing)
        if live != self._live:
            log.info(
                "live speakers changed: %s",
                ", ".join(sorted(live)),
                extra={"joined": sorted(live - self._live), "gone": sorted(self._live - live)},
            )
            metrics.MEMBERSHIP_SIZE.set(len(live))
        self._live, self._standing = live, standing
        if changed and self.on_change is not None:
            self.on_change(live)  # also for the same live set: layer 2 may now announce (or hold back)

    def _count(self, stats: Stats) -> None:
        seen = self._counted
        for counter, now, before in (
            (metrics.MEMBERSHIP_SUSPICIONS, stats.suspicions, seen.suspicions),
            (metrics.MEMBERSHIP_CONFIRMED, stats.confirmed_suspicions, seen.confirmed_suspicions),
            (metrics.MEMBERSHIP_DEATHS, stats.deaths, seen.deaths),
            (metrics.MEMBERSHIP_WITHDRAWN, stats.withdrawn, seen.withdrawn),
        ):
            if now > before:
                counter.inc(now - before)
        self._counted = replace(stats)

    async def leave(self) -> None:
        """Tell every peer we are leaving (sent twice against loss), then stop."""
        msgs = self.swim.leave()
        for _ in range(2):
            self._send(msgs)
            await asyncio.sleep(0.005)
        self.stop()

    def stop(self) -> None:
        self._stopped.set()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
