"""ExaBGP as a child process of the speaker: its environment, start, stop, and log forwarding.

ExaBGP must not daemonize (PID 1 in a container does not reap orphans, and the
speaker needs to see it die), must not drop privileges to ``nobody`` (it would
lose the sockets and files it needs), and must not open its CLI pipes (several
instances may share a filesystem). Each instance gets its own directory for its
configuration, API socket, environment and pid file (``exabgp.pid``, see
``speaker.leftovers``). Its log lines are forwarded to the speaker's logger.

It dies with the speaker (``speaker.lifeline``, PID kept: ExaBGP itself carries the
death signal), and its API helper refuses to serve it once the speaker is gone
(``IRONLB_SPEAKER``, see ``relay.py``), so ExaBGP's respawns of the helper end
within a second rather than after its respawn limit of minutes.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from speaker.bgp.relay import SPEAKER_ENV
from speaker.leftovers import proc_stat
from speaker.supervision import ChildProcess

log = logging.getLogger(__name__)


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


def pid_file(config_path: Path) -> Path:
    """Where the running ExaBGP of a work directory is recorded."""
    return config_path.with_name("exabgp.pid")


def speaker_identity() -> str:
    """``PID START`` of this process, for the relay to check that its speaker still runs."""
    stat = proc_stat(os.getpid())
    return f"{os.getpid()} {stat.start if stat else 0}"


class ExabgpProcess(ChildProcess):
    """One running ExaBGP; created per start, never reused (process handling: ``ChildProcess``).

    ``kill`` (SIGKILL to ExaBGP and its API helper, one process group) drops the sessions
    without a NOTIFICATION, so graceful restart keeps the routes at the routers.
    """

    def __init__(self, config_path: Path, *, command: Sequence[str] | None = None) -> None:
        self.config_path = config_path
        self.command = list(command or exabgp_command())
        env = exabgp_environment()
        env[SPEAKER_ENV] = speaker_identity()
        super().__init__(
            [*self.command, "server", str(config_path)],
            name="exabgp",
            env=env,
            record=pid_file(config_path),
        )

    async def start(self) -> None:
        await super().start()
        log.info("ExaBGP (pid %s) runs with %s", self.pid, self.config_path)

    async def stop(self, *, graceful_restart: bool = False, kill: bool = False) -> None:
        """Stop and reap: SIGTERM (ExaBGP closes sessions with a Cease), wait, then SIGKILL.

        With ``graceful_restart`` it is killed at once instead, so routers keep the routes
        as stale for the restart time while the speaker comes back.
        """
        await super().stop(kill=graceful_restart or kill)
