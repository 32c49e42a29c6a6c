"""ExaBGP as a child process of the speaker: its environment, start, stop, and log forwarding.

ExaBGP must not daemonize (PID 1 in a container does not reap orphans, and the
speaker needs to see it die), must not drop privileges to ``nobody`` (it would
lose the sockets and files it needs), and must not open its CLI pipes (several
instances may share a filesystem). Each instance gets its own directory for its
configuration, API socket and environment. Its log lines are forwarded to the
speaker's logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


def exabgp_command() -> list[str]:
    """The ExaBGP 5.0.x executable next to this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("exabgp")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("exabgp")
    return [found] if found else [sys.executable, "-m", "exabgp"]


def exabgp_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the child: ExaBGP settings travel as ``exabgp_<section>_<key>`` variables."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "exabgp_daemon_user": "root" if os.geteuid() == 0 else env.get("USER", "nobody"),
            "exabgp_daemon_drop": "false",
            "exabgp_daemon_daemonize": "false",
            "exabgp_daemon_pid": "",
            "exabgp_api_cli": "false",
            "exabgp_api_ack": "true",
            "exabgp_api_encoder": "json",
            "exabgp_api_respawn": "true",
            "exabgp_log_destination": "stdout",
            "exabgp_log_level": "INFO",
            # The configuration holds the MD5 password: never echo it.
            "exabgp_log_configuration": "false",
            "exabgp_log_parser": "false",
            "exabgp_log_packets": "false",
            "exabgp_log_message": "false",
            "exabgp_log_routes": "false",
            "exabgp_log_statistics": "false",
            "exabgp_log_processes": "false",
            "exabgp_tcp_bind": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class ExabgpProcess:
    """One running ExaBGP; created per start, never reused."""

    def __init__(self, config_path: Path, *, command: Sequence[str] | None = None) -> None:
        self.config_path = config_path
        self.command = list(command or exabgp_command())
        self._proc: asyncio.subprocess.Process | None = None
        self._log_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self.command,
            "server",
            str(self.config_path),
            env=exabgp_environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._log_task = asyncio.create_task(self._forward_logs(), name="exabgp-logs")
        log.info("started ExaBGP (pid %s) with %s", self._proc.pid, self.config_path)

    async def _forward_logs(self) -> None:
        """Copy ExaBGP's output to our log, line by line, whatever the line length."""
        assert self._proc is not None and self._proc.stdout is not None
        pending = b""
        while True:
            chunk = await self._proc.stdout.read(1 << 16)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                log.info("exabgp: %s", line.decode("utf-8", "replace").rstrip()[:2000])
        if pending:
            log.info("exabgp: %s", pending.decode("utf-8", "replace").rstrip()[:2000])

    async def wait(self) -> int:
        assert self._proc is not None
        code = await self._proc.wait()
        if self._log_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._log_task, 1.0)
        return code

    def kill(self) -> None:
        """SIGKILL to ExaBGP and its API helper (its own process group).

        The sessions drop without a NOTIFICATION, so graceful restart keeps the routes.
        """
        if self.running and self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def stop(self, *, graceful_restart: bool = False) -> None:
        """Stop and reap: SIGTERM (ExaBGP closes sessions with a Cease), wait, then SIGKILL.

        With ``graceful_restart`` it is killed at once instead, so routers keep the
        routes as stale for the restart time while the speaker comes back.
        """
        if self._proc is None:
            return
        if self.running:
            if graceful_restart:
                self.kill()
            else:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.kill()
        await self.wait()
