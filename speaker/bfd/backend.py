"""The BFD backend: FRR's ``bfdd`` as a supervised child of the speaker, next to ExaBGP.

It plugs into the speaker core like an announcement backend (it announces
nothing itself: its ``name`` is ``bgp`` because it serves the BGP sessions):

- ``apply``: derive the BFD sessions from the peers that select this node and
  name a ``bfd-profile`` (:mod:`speaker.bfd.config`), write bfdd's config file,
  and when bfdd is running tell it the difference through ``vtysh`` so that
  unchanged sessions never flap; if that fails, bfdd is restarted on the new
  file. No BFD peers: bfdd is stopped.
- supervision: :func:`speaker.supervision.supervise` (the policy ExaBGP uses):
  restart with exponential backoff when bfdd dies or stops answering the
  periodic ``show bfd peers`` probe, which also feeds ``ironlb_bfd_session_up``.

bfdd runs without zebra (it only needs sockets; the path to a zebra socket that
never appears is harmless), with every path inside the work directory and its
vty on a unix socket only (``-P 0``); which user it runs as: :func:`choose_user`.
It dies with the speaker: a switch to the ``frr`` user clears the kernel's
parent-death signal, so it runs under the lifeline's guard (``speaker/lifeline.py``),
recorded in ``bfdd-guard.pid``; a starting speaker stops one an earlier speaker
left behind (``speaker.leftovers``).
It needs CAP_NET_RAW, CAP_NET_BIND_SERVICE and CAP_SYS_ADMIN (FRR asks for them at
start and exits without them).
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import logging
import os
import pwd
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from ironlb.announce.inputs import AnnounceInputs, Announcement, AnnounceProtocol
from speaker.bfd import metrics
from speaker.bfd.config import BfdDesired, bfd_sessions, render_bfdd_config, runtime_commands
from speaker.leftovers import stop_leftover
from speaker.options import SpeakerOptions
from speaker.supervision import ChildProcess, cancel_and_wait, died_early, supervise

log = logging.getLogger(__name__)

DEFAULT_BFDD = "/usr/lib/frr/bfdd"
READY_TIMEOUT = 15.0
VTYSH_TIMEOUT = 10.0


class BfddDied(Exception):
    """bfdd exited or was killed for not answering (temporary: restart it)."""


RunAs = Literal["root", "frr", "caller"]


def choose_user(euid: int, root_in_vty_group: bool, frr_user_exists: bool) -> RunAs:
    """Which user bfdd runs as (pure).

    FRR daemons started as root switch to the ``frr`` user, which needs
    CAP_SETUID/CAP_SETGID (and the speaker needs CAP_CHOWN to hand bfdd its
    directory); the speaker's container drops those. So when root belongs to
    FRR's vty group (``frrvty``, as the image sets up) bfdd stays root
    (``-u root -g root``: FRR insists that its user is in the vty group);
    otherwise, as root, it switches to ``frr`` on a directory chowned to it (a
    developer machine with the ``frr`` package); not root: as the caller.
    """
    if euid != 0:
        return "caller"
    if root_in_vty_group or not frr_user_exists:
        return "root"
    return "frr"


def bfdd_argv(bfdd: str, workdir: Path, run_as: RunAs = "frr") -> list[str]:
    """bfdd in the foreground with every path under ``workdir`` (never /etc/frr or /run/frr)."""
    argv = [
        bfdd,
        "-f", str(workdir / "bfdd.conf"),
        "-i", str(workdir / "bfdd.pid"),
        "-z", str(workdir / "zserv.api"),
        "--vty_socket", str(workdir),
        "--bfdctl", str(workdir / "bfdd.sock"),
        "-A", "127.0.0.1",
        "-P", "0",
        "--log", "stdout",
    ]  # fmt: skip
    if run_as == "root":
        argv += ["-u", "root", "-g", "root"]
    elif run_as == "caller":
        argv += ["-u", pwd.getpwuid(os.geteuid()).pw_name, "-g", grp.getgrgid(os.getegid()).gr_name]
    return argv


def detect_user() -> RunAs:
    """:func:`choose_user` for this process and this machine's user database."""
    try:
        vty = grp.getgrnam("frrvty")
        root_in_vty = "root" in vty.gr_mem or pwd.getpwnam("root").pw_gid == vty.gr_gid
    except KeyError:
        root_in_vty = False
    try:
        pwd.getpwnam("frr")
        frr = True
    except KeyError:
        frr = False
    return choose_user(os.geteuid(), root_in_vty, frr)


def parse_peer_states(text: str) -> dict[str, str]:
    """{peer address: status} from ``show bfd peers json`` (empty on anything unexpected)."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return {}
    if not isinstance(data, list):
        return {}
    return {
        str(p["peer"]): str(p.get("status", "unknown")) for p in data if isinstance(p, dict) and "peer" in p
    }


class BfdAnnouncer:
    """Implements ``speaker.protocol.Announcer``: keeps bfdd's sessions equal to the desired ones."""

    def __init__(
        self,
        workdir: Path,
        *,
        bfdd: str = DEFAULT_BFDD,
        vtysh: str = "vtysh",
        probe_interval: float = 5.0,
    ) -> None:
        self.workdir = workdir
        self.bfdd = bfdd
        self.vtysh = vtysh
        self.probe_interval = probe_interval
        self.config_path = workdir / "bfdd.conf"
        self.pid_file = workdir / "bfdd-guard.pid"
        self.process: ChildProcess | None = None
        self.desired = BfdDesired()
        self._problems: tuple[str, ...] = ()
        self._running: BfdDesired | None = None
        """What the running bfdd holds (its file at start plus the changes applied since)."""
        self._lock = asyncio.Lock()
        self._wanted = asyncio.Event()
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._kill_requested = asyncio.Event()
        self._missing_logged = False
        self._peers_seen: set[str] = set()
        self.run_as = detect_user()

    @classmethod
    def from_options(cls, options: SpeakerOptions) -> BfdAnnouncer:
        return cls(Path(options.bfd_workdir or f"/run/ironlb/bfd-{options.node}"), bfdd=options.bfdd)

    @property
    def name(self) -> AnnounceProtocol:
        return "bgp"

    # ---- desired state in ---------------------------------------------------------------------

    async def apply(self, inputs: AnnounceInputs) -> Sequence[Announcement]:
        desired, problems = bfd_sessions(inputs)
        if problems != self._problems:
            for problem in problems:
                log.warning("%s", problem)
            self._problems = problems
        if desired == self.desired:
            return ()
        if desired and not os.access(self.bfdd, os.X_OK):
            if not self._missing_logged:
                log.error("peers name a bfd-profile but %s is not installed: no BFD", self.bfdd)
                self._missing_logged = True
            return ()
        self.desired = desired
        self._write_config(render_bfdd_config(desired))
        if not desired:
            self._wanted.clear()
            self._kill_requested.set()  # no BFD peers left: stop bfdd until some come back
            return ()
        if self.process is not None and self.process.running:
            await self._apply_running(desired)
        self._wanted.set()
        return ()

    async def _apply_running(self, desired: BfdDesired) -> None:
        try:
            async with asyncio.timeout(READY_TIMEOUT):  # not wait_for: gh-86296 on 3.11
                await self._ready.wait()
        except TimeoutError:
            self._kill_requested.set()  # the restart reads the new file
            return
        async with self._lock:
            if self._running is None or not (self.process and self.process.running):
                return  # (re)starting: the new file is read
            commands = runtime_commands(self._running, desired)
            if not commands:
                return
            ok, output = await self._vtysh(["configure terminal", *commands])
            if ok:
                log.info("bfdd: applied %d configuration lines without a restart", len(commands))
                self._running = desired
            else:
                log.error("bfdd refused the change (%s); restarting it on the new file", output.strip()[:500])
                self._kill_requested.set()

    def _write_config(self, text: str) -> None:
        self._prepare_workdir()
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        if self.run_as == "frr":
            shutil.chown(tmp, "frr", "frr")
        os.replace(tmp, self.config_path)

    def _prepare_workdir(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.run_as == "frr":  # bfdd drops root for the frr user and writes its sockets here
            shutil.chown(self.workdir, "frr", "frr")

    async def _vtysh(self, commands: Sequence[str]) -> tuple[bool, str]:
        argv = [self.vtysh, "--vty_socket", str(self.workdir), "-d", "bfdd"]
        for c in commands:
            argv += ["-c", c]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
        except OSError as exc:
            return False, str(exc)
        try:
            async with asyncio.timeout(VTYSH_TIMEOUT):  # not wait_for: gh-86296 on 3.11
                out, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return False, "vtysh timed out"
        # Command errors come on stdout as "% ..." lines; stderr carries vtysh's own
        # complaints (e.g. an unreadable /etc/frr/vtysh.conf, which it does not need).
        text = out.decode("utf-8", "replace")
        refused = any(line.lstrip().startswith("%") for line in text.splitlines())
        if proc.returncode != 0 or refused:
            return False, text + err.decode("utf-8", "replace")
        return True, text

    # ---- long-lived work ----------------------------------------------------------------------

    async def run(self) -> None:
        await stop_leftover(self.pid_file, str(self.config_path))
        tasks = [
            asyncio.create_task(
                supervise(
                    self._run_once,
                    what="bfdd",
                    wanted=self._wanted,
                    stopping=self._stopping,
                    retry_on=BfddDied,
                ),
                name="bfdd-supervisor",
            ),
            asyncio.create_task(self._probe_loop(), name="bfdd-probe"),
        ]
        try:
            await self._stopping.wait()
        finally:
            await cancel_and_wait(tasks)
            if self.process is not None:
                await self.process.stop()
            metrics.BFDD_UP.set(0)
            self._set_sessions({})

    async def _run_once(self) -> None:
        """Run bfdd until it exits; returns only after a healthy run, raises BfddDied otherwise."""
        async with self._lock:
            self._prepare_workdir()
            with contextlib.suppress(FileNotFoundError):
                (self.workdir / "bfdd.vty").unlink()
            argv = bfdd_argv(self.bfdd, self.workdir, self.run_as)
            proc = ChildProcess(argv, name="bfdd", guard=True, record=self.pid_file)
            self.process = proc
            self._kill_requested.clear()
            self._running = self.desired  # the file it reads
            await proc.start()
        started = time.monotonic()
        wait_exit = asyncio.create_task(proc.wait())
        wait_kill = asyncio.create_task(self._kill_requested.wait())
        ready = asyncio.create_task(self._until_ready(proc))
        try:
            await asyncio.wait({wait_exit, wait_kill}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wait_kill.cancel()
            ready.cancel()
            was_ready = self._ready.is_set()
            self._ready.clear()
        if not wait_exit.done():
            if self._wanted.is_set():
                proc.kill()  # unresponsive
            else:
                await proc.stop()  # no BFD peers left: SIGTERM
        code = await wait_exit
        metrics.BFDD_UP.set(0)
        self._set_sessions({})
        if not died_early(
            "bfdd",
            code,
            started,
            wanted=self._wanted,
            stopping=self._stopping,
            unwanted="no BFD peers for this node",
            restarts=metrics.BFDD_RESTARTS,
        ):
            return
        if not was_ready:
            raise BfddDied(
                f"bfdd exited with {code} before opening its vty (its own message is above); "
                "without CAP_SYS_ADMIN and CAP_NET_BIND_SERVICE it cannot start: "
                "install with `kubectl apply -k config/bfd`"
            )
        raise BfddDied(f"bfdd exited with {code}")

    async def _until_ready(self, proc: ChildProcess) -> None:
        vty = self.workdir / "bfdd.vty"
        deadline = time.monotonic() + READY_TIMEOUT
        while not vty.exists():
            if not proc.running:
                return
            if time.monotonic() > deadline:
                log.error("bfdd did not open its vty socket in %.0fs; restarting it", READY_TIMEOUT)
                self._kill_requested.set()
                return
            await asyncio.sleep(0.02)
        metrics.BFDD_UP.set(1)
        self._ready.set()

    async def _probe_loop(self) -> None:
        """Every ``probe_interval``: read the sessions (metrics); a bfdd that does not answer is replaced."""
        while True:
            await asyncio.sleep(self.probe_interval)
            if not self._ready.is_set():
                continue
            ok, out = await self._vtysh(["show bfd peers json"])
            if not ok and self._ready.is_set():
                log.error("bfdd did not answer: %s", out.strip()[:300])
                self._kill_requested.set()
                continue
            self._set_sessions(parse_peer_states(out))

    def _set_sessions(self, states: dict[str, str]) -> None:
        for peer in self._peers_seen - set(states):
            metrics.SESSION_UP.remove(peer)
        for peer, status in states.items():
            metrics.SESSION_UP.labels(peer).set(1 if status == "up" else 0)
        self._peers_seen = set(states)

    async def shutdown(self, *, graceful: bool) -> None:
        """Stop bfdd (SIGTERM). Its peers see the BFD sessions time out (bfdd 8.4 sends no AdminDown)."""
        self._stopping.set()
