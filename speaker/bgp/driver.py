"""The speaker's side of ExaBGP's process API: send the difference, wait for acks, track sessions.

ExaBGP's helper (``relay.py``) connects to the speaker's unix socket; on that
connection the driver writes ``announce route`` / ``withdraw route`` lines (see
:mod:`speaker.bgp.commands`) and reads back, mixed in one stream, the ``done`` /
``error`` acknowledgement of each command and JSON events (``"type": "state"``
for session changes, from ``neighbor-changes``).

What it keeps, per peer: the routes ExaBGP acknowledged. What it sends: only the
difference between that and the desired set, in pipelined batches (a batch is
written at once, then its acks are awaited in order, each with a timeout). After
any new connection (ExaBGP or relay restarted), session change, or config
reload, every desired route of the peers concerned is announced again; the
acknowledged set is kept so that withdrawals are never lost (withdrawing a route
ExaBGP no longer holds is harmless: it answers ``done``).

``ironlb_bgp_session_up{peer}`` has a series for every peer the backend tracks
(:meth:`ExabgpDriver.track_sessions`: the peers selected for this node), 0 until
ExaBGP reports the session up, so a session that never opens (wrong password or
ASN, router unreachable: ExaBGP then emits no state event at all) still reads 0;
a peer that leaves the config loses its series.

``error`` means ExaBGP refused a command we built: a bug, logged loudly and not
retried until the route changes. A missing ack is a hung ExaBGP:
:class:`ExabgpUnresponsive` tells the supervisor to kill and restart it.

Only route commands are pipelined; control commands (``reload``, ``#`` probes)
are sent alone, because ExaBGP answers those at once while route commands are
answered from its scheduler, and acks carry no identifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ironlb.announce.bgp import BgpRoute
from ironlb.config.model import IPNetwork
from speaker.bgp import metrics
from speaker.bgp.commands import Command, UnsafeCommand, difference
from speaker.supervision import cancel_all

log = logging.getLogger(__name__)

DEFAULT_ACK_TIMEOUT = 10.0
DEFAULT_BATCH = 100
CHUNK = 25


class ExabgpUnresponsive(Exception):
    """ExaBGP did not acknowledge a command in time (temporary: restart ExaBGP)."""


class NotConnected(Exception):
    """No ExaBGP API connection right now (temporary: the state is replayed on connect)."""


@dataclass(frozen=True)
class SessionEvent:
    peer: str
    state: str
    """ExaBGP's state word: ``connected``, ``up``, ``down``."""


def parse_event(line: str) -> SessionEvent | None:
    """A session state change from one JSON line of ExaBGP, or None for anything else."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("type") != "state":
        return None
    neighbor = msg.get("neighbor")
    if not isinstance(neighbor, dict):
        return None
    address = neighbor.get("address")
    peer = address.get("peer") if isinstance(address, dict) else None
    state = neighbor.get("state")
    if not isinstance(peer, str) or not isinstance(state, str):
        return None
    return SessionEvent(peer=peer, state=state)


def parse_ack(line: str) -> bool | None:
    """True for ``done``, False for ``error`` (text or JSON form), None when the line is no ack."""
    text = line.strip()
    if text == "done":
        return True
    if text == "error":
        return False
    if text.startswith("{") and '"answer"' in text:
        try:
            msg = json.loads(text)
        except ValueError:
            return None
        if isinstance(msg, dict) and msg.get("answer") in ("done", "error"):
            return bool(msg["answer"] == "done")
    return None


class ExabgpDriver:
    """Keeps ExaBGP's routes equal to the desired set, over whatever API connection is current."""

    def __init__(
        self,
        *,
        ack_timeout: float = DEFAULT_ACK_TIMEOUT,
        batch: int = DEFAULT_BATCH,
        on_session: Callable[[SessionEvent], None] | None = None,
    ) -> None:
        self.ack_timeout = ack_timeout
        self.batch = batch
        self._on_session = on_session
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._acks: deque[asyncio.Future[bool]] = deque()
        self._lock = asyncio.Lock()
        self._desired: dict[str, tuple[BgpRoute, ...]] = {}
        self._acked: dict[str, dict[IPNetwork, BgpRoute]] = {}
        self._rejected: dict[str, dict[IPNetwork, BgpRoute]] = {}
        self._force: set[str] = set()
        self._force_all = False
        self._eor_due: set[str] = set()
        self.sessions: dict[str, str] = {}
        self.on_up_changed: Callable[[], None] | None = None
        """Told whenever the set of sessions up changes (``ServiceBGPStatus`` lists only those)."""
        self._tracked: frozenset[str] = frozenset()
        self.connected = asyncio.Event()
        self.changed = asyncio.Event()
        """Set whenever a sync is due (new desired state, reconnect, session up)."""

    # ---- connection -------------------------------------------------------------------------------

    async def attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Take a new API connection (from a fresh relay); everything will be sent again."""
        await self.detach()
        self._writer = writer
        self._rejected.clear()
        self._force_all = True
        self._clear_sessions()
        self._reader_task = asyncio.create_task(self._read(reader, writer), name="exabgp-api-reader")
        self.connected.set()
        self.changed.set()
        log.info("ExaBGP API connected; replaying the whole desired state")

    async def detach(self) -> None:
        writer, self._writer = self._writer, None
        self.connected.clear()
        self._fail_pending(NotConnected("ExaBGP API connection closed"))
        if self._reader_task is not None and self._reader_task is not asyncio.current_task():
            await cancel_all([self._reader_task])
        self._reader_task = None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        self._clear_sessions()
        for peer in self._tracked:
            metrics.SESSION_UP.labels(peer=peer).set(0)

    def _fail_pending(self, exc: Exception) -> None:
        while self._acks:
            fut = self._acks.popleft()
            if not fut.done():
                fut.set_exception(exc)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                ack = parse_ack(line)
                if ack is not None:
                    if self._acks:
                        fut = self._acks.popleft()
                        if not fut.done():
                            fut.set_result(ack)
                    else:
                        log.warning("unexpected ExaBGP acknowledgement %r", line)
                    continue
                event = parse_event(line)
                if event is not None:
                    self._session_event(event)
                else:
                    log.debug("ExaBGP API: %s", line[:200])
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            log.warning("ExaBGP API read failed: %s", exc)
        finally:
            if self._writer is writer:  # still the current connection (not replaced by attach)
                log.info("ExaBGP API connection lost")
                self._writer = None
                self.connected.clear()
                self._fail_pending(NotConnected("ExaBGP API connection lost"))
            writer.close()

    def up(self) -> frozenset[str]:
        """The peers (by address) whose session is up now."""
        return frozenset(peer for peer, state in self.sessions.items() if state == "up")

    def _clear_sessions(self) -> None:
        was_up = bool(self.up())
        self.sessions.clear()
        if was_up and self.on_up_changed is not None:
            self.on_up_changed()

    def _session_event(self, event: SessionEvent) -> None:
        previous = self.sessions.get(event.peer)
        self.sessions[event.peer] = event.state
        if (previous == "up") != (event.state == "up") and self.on_up_changed is not None:
            self.on_up_changed()
        if event.peer in self._tracked:  # not a peer just removed from the config (its "down" on reload)
            metrics.SESSION_UP.labels(peer=event.peer).set(1 if event.state == "up" else 0)
        if event.state != previous:
            log.info("BGP session with %s: %s", event.peer, event.state)
        if event.state in ("up", "down"):
            # Routes do not survive a session in ExaBGP (adj-rib-out is off): send them again.
            self._force.add(event.peer)
            if event.state == "up":
                # ExaBGP runs with manual-eor: End-of-RIB goes out after the replay, so a
                # graceful-restart helper drops its stale copies only once ours are back.
                self._eor_due.add(event.peer)
            else:
                self._eor_due.discard(event.peer)
            self._rejected.pop(event.peer, None)
            self.changed.set()
        if self._on_session is not None:
            self._on_session(event)

    # ---- desired state ----------------------------------------------------------------------------

    def track_sessions(self, peers: Iterable[str]) -> None:
        """The peers whose session state is exported: a series each (0 until up); others removed."""
        wanted = frozenset(peers)
        for peer in self._tracked - wanted:
            metrics.SESSION_UP.remove(peer)
        for peer in wanted:
            metrics.SESSION_UP.labels(peer=peer).set(1 if self.sessions.get(peer) == "up" else 0)
        self._tracked = wanted

    def set_desired(self, desired: Mapping[str, Iterable[BgpRoute]]) -> None:
        """The complete desired routes per peer id; peers absent here get nothing."""
        self._desired = {peer: tuple(routes) for peer, routes in desired.items()}
        for peer in list(self._acked):
            if peer not in self._desired:
                # The peer left the config: ExaBGP dropped its neighbor and with it the routes.
                del self._acked[peer]
                self._rejected.pop(peer, None)
                metrics.ANNOUNCED.remove(peer)
        self.changed.set()

    def resend(self, peers: Iterable[str] | None = None) -> None:
        """Announce every desired route of these peers (all when None) again at the next sync."""
        if peers is None:
            self._force_all = True
            self._rejected.clear()
        else:
            for peer in peers:
                self._force.add(peer)
                self._rejected.pop(peer, None)
        self.changed.set()

    def acknowledged(self, peer: str) -> dict[IPNetwork, BgpRoute]:
        return dict(self._acked.get(peer, {}))

    def pending_commands(self) -> list[Command]:
        """What a sync would send now (pure view; used by tests and ``sync``)."""
        commands: list[Command] = []
        for peer in sorted(self._desired):
            commands += difference(
                peer,
                self._acked.get(peer, {}),
                self._desired[peer],
                skip=self._rejected.get(peer),
                force=self._force_all or peer in self._force,
            )
        return commands

    # ---- sending ----------------------------------------------------------------------------------

    async def sync(self) -> int:
        """Send the difference; returns how many commands were acknowledged.

        Raises NotConnected (state will be replayed on connect) or ExabgpUnresponsive.
        """
        async with self._lock:
            self.changed.clear()
            sent = 0
            while True:
                commands = self.pending_commands()
                # Forced announcements are now in ``commands``; later rounds follow the acks.
                self._force_all = False
                self._force.clear()
                if not commands:
                    await self._send_eors()
                    return sent
                await self._send_windowed(commands)
                sent += len(commands)

    async def _send_windowed(self, commands: list[Command]) -> None:
        """Pipeline ``commands``: up to ``batch`` unacknowledged, topped up in small chunks as acks arrive.

        ExaBGP runs a bounded number of API steps per reactor turn and naps between
        turns when no new input arrived; a steady trickle keeps it busy, where one big
        write would leave it napping through the backlog.
        """
        writer = self._writer
        if writer is None:
            raise NotConnected("no ExaBGP API connection")
        loop = asyncio.get_running_loop()
        inflight: deque[tuple[Command, asyncio.Future[bool]]] = deque()
        chunk = max(1, min(CHUNK, self.batch))
        i = 0
        while i < len(commands) or inflight:
            if i < len(commands) and len(inflight) < self.batch:
                part = commands[i : i + chunk]
                i += len(part)
                futures = [loop.create_future() for _ in part]
                self._acks.extend(futures)
                inflight.extend(zip(part, futures, strict=True))
                writer.write("".join(c.line + "\n" for c in part).encode("ascii"))
                try:
                    async with asyncio.timeout(self.ack_timeout):  # not wait_for: gh-86296 on 3.11
                        await writer.drain()
                except (ConnectionError, TimeoutError) as exc:
                    raise NotConnected(f"writing to ExaBGP failed: {exc}") from exc
                if len(inflight) < self.batch and i < len(commands):
                    continue
            command, fut = inflight.popleft()
            try:
                async with asyncio.timeout(self.ack_timeout):
                    ok = await fut
            except TimeoutError as exc:
                msg = f"no acknowledgement within {self.ack_timeout}s for: {command.line}"
                raise ExabgpUnresponsive(msg) from exc
            self._record(command, ok)

    def _record(self, command: Command, ok: bool) -> None:
        acked = self._acked.setdefault(command.peer, {})
        prefix = command.route.prefix
        if not ok:
            log.error("ExaBGP refused a command (a bug in ironlb, not retried): %s", command.line)
            self._rejected.setdefault(command.peer, {})[prefix] = command.route
            if command.action == "withdraw":
                acked.pop(prefix, None)
            return
        metrics.UPDATES.labels(peer=command.peer).inc()
        if command.action == "announce":
            acked[prefix] = command.route
        else:
            acked.pop(prefix, None)
        metrics.ANNOUNCED.labels(peer=command.peer).set(len(acked))

    async def _send_eors(self) -> None:
        for peer in sorted(self._eor_due):
            if self.sessions.get(peer) != "up" or peer not in self._desired:
                self._eor_due.discard(peer)
                continue
            family = "ipv6 unicast" if ":" in peer else "ipv4 unicast"
            ok = await self._control_locked(f"neighbor {peer} announce eor {family}")
            self._eor_due.discard(peer)
            if not ok:
                log.warning("ExaBGP could not send End-of-RIB to %s (session went down?)", peer)

    async def control(self, line: str) -> bool:
        """Send one control command (``reload``, ``# probe``) alone and wait for its ack."""
        async with self._lock:
            return await self._control_locked(line)

    async def _control_locked(self, line: str) -> bool:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
            raise UnsafeCommand(f"refusing control characters in {line!r}")
        writer = self._writer
        if writer is None:
            raise NotConnected("no ExaBGP API connection")
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._acks.append(fut)
        writer.write((line + "\n").encode("ascii"))
        try:
            async with asyncio.timeout(self.ack_timeout):
                await writer.drain()
            async with asyncio.timeout(self.ack_timeout):
                return await fut
        except TimeoutError as exc:
            msg = f"no acknowledgement within {self.ack_timeout}s for {line!r}"
            raise ExabgpUnresponsive(msg) from exc
        except ConnectionError as exc:
            raise NotConnected(str(exc)) from exc
