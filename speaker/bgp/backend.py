"""The BGP announcer: the speaker core's backend that keeps ExaBGP's sessions and routes right.

It wires the pieces together and owns the imperative loops:

- ``apply`` (from the speaker core): decide sessions and routes
  (:func:`ironlb.announce.bgp.decide`), render the ExaBGP config from the
  decision's sessions; when the config text changed, write it and ``reload``
  (ExaBGP resets only the sessions whose definition changed); hand the desired
  routes to the driver.
- supervision: ExaBGP runs as a child; when it exits, or stops acknowledging
  commands (or the periodic ``#`` probe), it is killed and started again with
  exponential backoff (tenacity), and the driver replays the whole desired state
  when the new relay connects. ExaBGP dies with the speaker; one left by an
  earlier speaker is stopped before ours starts (``speaker.leftovers``), and the
  API socket takes only the relay whose parent is our current ExaBGP, so a
  leftover's relay can never take over the session state.
- sync: whenever the desired state or a session changes, the driver sends the
  difference.
- status: an announcement names only the peers whose session is up (``ServiceBGPStatus.peers``:
  the peers the Service is advertised to now); ``on_sessions_changed`` tells the speaker core
  when that set changes, so the objects follow a session going down and coming back.
- reporting: the decision's problems (unusable peers, IPs no session carries) and
  keepalive-times ExaBGP cannot honour are logged once each (again only if one goes
  away and comes back); every peer selected for this node has an
  ``ironlb_bgp_session_up`` series from the first ``apply`` on.

A cluster-state source that goes away never reaches here as an empty snapshot
(the core keeps the last one), so nothing is withdrawn when the source is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import tenacity

from ironlb.announce.bgp import BgpDecision, decide
from ironlb.announce.bgp_sessions import keepalive_warnings, peer_id
from ironlb.announce.inputs import AnnounceInputs, Announcement, AnnounceProtocol
from ironlb.config.model import Peer
from speaker.bgp import metrics
from speaker.bgp.driver import ExabgpDriver, ExabgpUnresponsive, NotConnected
from speaker.bgp.exabgp_config import (
    DEFAULT_GRACEFUL_RESTART,
    NeighborSettings,
    RenderError,
    neighbor_settings,
    render_config,
)
from speaker.bgp.exabgp_process import ExabgpProcess, pid_file
from speaker.leftovers import proc_stat, stop_leftover
from speaker.options import SpeakerOptions
from speaker.supervision import cancel_and_wait, died_early, supervise

log = logging.getLogger(__name__)

RELAY_PATH = Path(__file__).with_name("relay.py")


class ExabgpDied(Exception):
    """The ExaBGP child exited or was killed for not answering (temporary: restart it)."""


def read_password(directory: Path | None, peer: Peer) -> str | None:
    """A peer's TCP MD5 password from a mounted Secret: file named after the peer address.

    Secret keys cannot hold ``:``, so IPv6 addresses use ``_`` instead. The
    trailing newline (if any) is dropped. Never logged.
    """
    if directory is None:
        return None
    path = directory / str(peer.peer_address).replace(":", "_")
    try:
        return path.read_text().rstrip("\r\n") or None
    except OSError:
        return None


def peer_pid(writer: asyncio.StreamWriter) -> int | None:
    """The PID of the process at the other end of a unix socket (``SO_PEERCRED``, as it connected)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return None
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    pid: int = struct.unpack("3i", creds)[0]
    return pid or None


def _log_restart(state: tenacity.RetryCallState) -> None:
    reason = state.outcome.exception() if state.outcome else None
    log.warning("ExaBGP restart in %.1fs: %s", state.upcoming_sleep, reason)


def peer_graceful_restart(peer: Peer, flag: int) -> int | None:
    """The restart time a session announces: the peer's setting (``None``: ``--bgp-graceful-restart``
    decides, 0 meaning off), ``False`` off, ``True`` on with the flag's time or the default."""
    if peer.graceful_restart is None:
        return flag or None
    if not peer.graceful_restart:
        return None
    return flag or DEFAULT_GRACEFUL_RESTART


def advertised(
    announcements: Sequence[Announcement], peer_ids: Mapping[str, str], up: frozenset[str]
) -> list[Announcement]:
    """``announcements`` naming only the peers (by name) whose session (by address, ``peer_ids``) is up:
    a peer whose session is down does not receive the routes."""
    return [
        dataclasses.replace(a, via=tuple(n for n in a.via if peer_ids.get(n) in up)) for a in announcements
    ]


class BgpAnnouncer:
    """Implements ``speaker.protocol.Announcer`` for BGP through ExaBGP."""

    def __init__(
        self,
        workdir: Path,
        *,
        password_dir: Path | None = None,
        graceful_restart: int = DEFAULT_GRACEFUL_RESTART,
        exabgp: Sequence[str] | None = None,
        ack_timeout: float = 10.0,
        probe_interval: float = 5.0,
        batch: int = 256,
    ) -> None:
        self.workdir = workdir
        self.password_dir = password_dir
        self.graceful_restart = graceful_restart
        self.exabgp = list(exabgp) if exabgp else None
        self.probe_interval = probe_interval
        self.driver = ExabgpDriver(ack_timeout=ack_timeout, batch=batch)
        self.driver.on_up_changed = self._sessions_changed
        self.on_sessions_changed: Callable[[], None] | None = None
        """Told when a session goes up or down (the speaker reconciles: its announcements name the
        peers whose session is up)."""
        self._peer_ids: dict[str, str] = {}
        self.config_path = workdir / "exabgp.conf"
        self.socket_path = workdir / "api.sock"
        self.process: ExabgpProcess | None = None
        self.last_decision = BgpDecision()
        self._config_text: str | None = None
        self._reported: set[str] = set()
        """Problems and warnings already logged (each is logged once while it lasts)."""
        self._configured = asyncio.Event()
        """Set while the configuration has at least one neighbor (ExaBGP runs only then)."""
        self._stopping = asyncio.Event()
        self._graceful = False
        self._kill_requested = asyncio.Event()

    @classmethod
    def from_options(cls, options: SpeakerOptions) -> BgpAnnouncer:
        workdir = Path(options.bgp_workdir or f"/run/ironlb/bgp-{options.node}")
        return cls(
            workdir,
            password_dir=Path(options.bgp_password_dir) if options.bgp_password_dir else None,
            graceful_restart=options.bgp_graceful_restart,
        )

    @property
    def name(self) -> AnnounceProtocol:
        return "bgp"

    # ---- decisions in, config out -----------------------------------------------------------------

    def _neighbors(self, decision: BgpDecision) -> list[NeighborSettings]:
        out: list[NeighborSettings] = []
        for pr in decision.peers:
            if pr.unusable is not None:
                continue  # reported as a problem of the decision
            try:
                out.append(
                    neighbor_settings(
                        pr.session,
                        password=read_password(self.password_dir, pr.peer),
                        graceful_restart=peer_graceful_restart(pr.peer, self.graceful_restart),
                    )
                )
            except RenderError as exc:
                log.error("cannot peer: %s", exc)
        return out

    def _relay_command(self) -> list[str]:
        return [sys.executable, str(RELAY_PATH), str(self.socket_path)]

    async def apply(self, inputs: AnnounceInputs) -> Sequence[Announcement]:
        decision = decide(inputs)
        self._report(decision.problems, keepalive_warnings(inputs.config))
        self.driver.track_sessions(pr.peer_id for pr in decision.peers)
        neighbors = self._neighbors(decision)
        usable = {str(n.peer_address) for n in neighbors}
        text = render_config(neighbors, self._relay_command())
        if text != self._config_text:
            self._write_config(text)
            self._config_text = text
            if neighbors:
                await self._reload()
                self._configured.set()
            else:
                self._configured.clear()
                self._kill_requested.set()  # nobody to talk to: stop ExaBGP until peers come back
        self.driver.set_desired(
            {peer_id(pr.peer): pr.routes for pr in decision.peers if peer_id(pr.peer) in usable}
        )
        self.last_decision = decision
        self._peer_ids = {p.name: peer_id(p) for p in inputs.config.peers}
        return advertised(decision.announcements, self._peer_ids, self.driver.up())

    def _sessions_changed(self) -> None:
        if self.on_sessions_changed is not None:
            self.on_sessions_changed()

    def _report(self, problems: Sequence[str], warnings: Sequence[str]) -> None:
        """Log each problem and warning once, when it first appears; forget those that went away."""
        current = set(problems) | set(warnings)
        for line in [*problems, *warnings]:
            if line not in self._reported:
                log.warning("%s", line)
        self._reported = current

    def _write_config(self, text: str) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        tmp = self.config_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    async def _reload(self) -> None:
        if self.process is None or not self.process.running:
            return  # the next start reads the new file
        try:
            await self.driver.control("reload")
        except NotConnected:
            # ExaBGP is starting: it will read the new file; a SIGUSR1 is ExaBGP's reload signal too.
            pid = self.process.pid
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGUSR1)
        except ExabgpUnresponsive as exc:
            log.error("ExaBGP did not acknowledge reload: %s", exc)
            self._kill_requested.set()
            return
        # Sessions of changed neighbors restart and announce nothing until told again.
        self.driver.resend()

    # ---- long-lived work --------------------------------------------------------------------------

    async def run(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        await stop_leftover(pid_file(self.config_path), str(self.config_path))
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        server = await asyncio.start_unix_server(self._accept, path=str(self.socket_path))
        os.chmod(self.socket_path, 0o600)
        tasks = [
            asyncio.create_task(self._supervise(), name="exabgp-supervisor"),
            asyncio.create_task(self._sync_loop(), name="bgp-sync"),
            asyncio.create_task(self._probe_loop(), name="exabgp-probe"),
        ]
        try:
            await self._stopping.wait()
        finally:
            await cancel_and_wait(tasks)
            await self.driver.detach()
            if self.process is not None:
                await self.process.stop(graceful_restart=self._graceful)
            server.close()
            await server.wait_closed()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            metrics.EXABGP_UP.set(0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hand the driver only a connection from a helper of our current ExaBGP.

        Anything else (the relay of an ExaBGP an older speaker left running, a previous
        ExaBGP's late relay) would replace our relay's connection and fight it for the API.
        """
        relay = peer_pid(writer)
        stat = proc_stat(relay) if relay else None
        exabgp = self.process.pid if self.process is not None and self.process.running else None
        if exabgp is None or stat is None or stat.ppid != exabgp:
            log.warning(
                "refusing an ExaBGP API connection from pid %s (parent %s): our ExaBGP is pid %s",
                relay,
                stat.ppid if stat else None,
                exabgp,
            )
            writer.close()
            return
        await self.driver.attach(reader, writer)

    async def _supervise(self) -> None:
        await supervise(
            self._run_once,
            what="ExaBGP",
            wanted=self._configured,
            stopping=self._stopping,
            retry_on=ExabgpDied,
        )

    async def _run_once(self) -> None:
        """Run ExaBGP until it exits; returns only after a healthy run, raises ExabgpDied otherwise."""
        proc = ExabgpProcess(self.config_path, command=self.exabgp)
        self.process = proc
        self._kill_requested.clear()
        started = time.monotonic()
        await proc.start()
        metrics.EXABGP_UP.set(1)
        wait_exit = asyncio.create_task(proc.wait())
        wait_kill = asyncio.create_task(self._kill_requested.wait())
        try:
            await asyncio.wait({wait_exit, wait_kill}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wait_kill.cancel()
        if not wait_exit.done():
            log.error("ExaBGP unresponsive: killing it")
            proc.kill()
        code = await wait_exit
        metrics.EXABGP_UP.set(0)
        await self.driver.detach()
        if not died_early(
            "ExaBGP",
            code,
            started,
            wanted=self._configured,
            stopping=self._stopping,
            unwanted="no BGP peers for this node",
            restarts=metrics.EXABGP_RESTARTS,
        ):
            return
        raise ExabgpDied(f"ExaBGP exited with {code}")

    async def _sync_loop(self) -> None:
        while True:
            await self.driver.changed.wait()
            if not self.driver.connected.is_set():
                await self.driver.connected.wait()
            try:
                await self.driver.sync()
            except NotConnected:
                continue
            except ExabgpUnresponsive as exc:
                log.error("%s", exc)
                self._kill_requested.set()
                await asyncio.sleep(0)

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval)
            if not self.driver.connected.is_set():
                continue
            try:
                await self.driver.control("# ironlb liveness probe")
            except NotConnected:
                continue
            except ExabgpUnresponsive as exc:
                log.error("%s", exc)
                self._kill_requested.set()

    async def shutdown(self, *, graceful: bool) -> None:
        """Stop; ``graceful``: ExaBGP is killed without a Cease, so routers keep the routes (GR)."""
        self._graceful = graceful and bool(self.graceful_restart)
        self._stopping.set()
