"""No ExaBGP outlives its speaker in control of the routes, even without the kernel's death signal.

Real ExaBGP, no namespace (like ``test_exabgp_supervision``: its only peer is
127.0.0.2 on a closed port, so it keeps retrying on loopback while its API works):

- an ExaBGP started *without* ``speaker/lifeline.py`` by a stand-in speaker that is
  then SIGKILLed stops on its own within seconds: the relay it respawns sees that the
  speaker is gone and exits at once, so ExaBGP reaches its respawn limit (before, each
  relay retried for 10 s and ExaBGP ran on for 60-125 s);
- a leftover ExaBGP named by the work directory's pid file is SIGKILLed before the
  speaker starts its own, and a connection to the API socket from anything but the
  relay of the speaker's current ExaBGP is refused.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from speaker.bgp.backend import BgpAnnouncer
from speaker.bgp.exabgp_process import exabgp_command, exabgp_environment, pid_file
from speaker.leftovers import proc_argv, write_record
from tests.speaker.bgp.test_exabgp_supervision import CONFIG, PEER, inputs, until
from tests.support.processes import running
from tests.support.waiting import wait_for

# A speaker of the kind that left ExaBGP behind: it serves the API socket and starts ExaBGP
# directly (no lifeline), with the identity its relay checks; prints ExaBGP's PID.
UNTETHERED_SPEAKER = """
import asyncio, os, subprocess, sys
from speaker.bgp.exabgp_process import exabgp_command, exabgp_environment, speaker_identity
from speaker.bgp.relay import SPEAKER_ENV

async def main(workdir):
    async def drain(reader, writer):
        while await reader.read(1 << 16):
            pass
    await asyncio.start_unix_server(drain, path=os.path.join(workdir, "api.sock"))
    env = {**exabgp_environment(), SPEAKER_ENV: speaker_identity()}
    argv = [*exabgp_command(), "server", os.path.join(workdir, "exabgp.conf")]
    exabgp = subprocess.Popen(argv, env=env, start_new_session=True)
    print(exabgp.pid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main(sys.argv[1]))
"""


def relays_of(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in children if any(a.endswith("relay.py") for a in proc_argv(int(c)))]


def write_config(workdir: Path) -> Path:
    """The ExaBGP configuration the speaker renders for CONFIG (written by ``apply``; nothing started)."""
    asyncio.run(BgpAnnouncer(workdir).apply(inputs(CONFIG, ["198.51.100.7"])))
    return workdir / "exabgp.conf"


def test_an_exabgp_left_without_its_death_signal_stops_soon_after_its_speaker(
    tmp_path: Path, subreaper: None
) -> None:
    workdir = tmp_path / "bgp"
    write_config(workdir)
    speaker = subprocess.Popen(
        [sys.executable, "-c", UNTETHERED_SPEAKER, str(workdir)], stdout=subprocess.PIPE, text=True
    )
    assert speaker.stdout is not None
    exabgp = int(speaker.stdout.readline())
    try:
        wait_for(lambda: relays_of(exabgp), 20, "ExaBGP's relay connected to the stand-in speaker")
        killed = time.monotonic()
        speaker.kill()
        speaker.wait()
        wait_for(lambda: not running(exabgp), 20, "ExaBGP stopped after its speaker died", interval=0.01)
        print(f"\nExaBGP without a death signal exited {time.monotonic() - killed:.2f} s after its speaker")
    finally:
        speaker.stdout.close()
        if running(exabgp):
            os.kill(exabgp, signal.SIGKILL)
            wait_for(lambda: not running(exabgp), 5, "ExaBGP killed")


def test_a_recorded_leftover_exabgp_is_stopped_first_and_strangers_cannot_take_the_api(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "bgp"
    config = write_config(workdir)
    # Started as an older speaker did: not tethered, and its relay does not check its speaker.
    leftover = subprocess.Popen(
        [*exabgp_command(), "server", str(config)], env=exabgp_environment(), start_new_session=True
    )
    wait_for(lambda: str(config) in proc_argv(leftover.pid), 10, "the leftover's command line")
    write_record(pid_file(config), leftover.pid)

    async def scenario() -> None:
        backend = BgpAnnouncer(workdir, probe_interval=0.3, ack_timeout=2.0)
        await backend.apply(inputs(CONFIG, ["198.51.100.7"]))
        runner = asyncio.create_task(backend.run())
        try:
            await until(lambda: backend.process is not None and backend.process.running)
            assert leftover.poll() == -signal.SIGKILL  # gone before ours started
            await until(lambda: len(backend.driver.acknowledged(PEER)) == 1)

            # A stranger (here: this test process, not a child of our ExaBGP) is turned away...
            def knock() -> bytes:
                """What a stranger's withdrawal gets back: b"" once the speaker closed the connection."""
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(10)
                    s.connect(str(workdir / "api.sock"))
                    try:
                        s.sendall(b"withdraw route 198.51.100.7/32 next-hop self\n")
                        return s.recv(100)
                    except (BrokenPipeError, ConnectionResetError):
                        return b""

            assert await asyncio.to_thread(knock) == b""
            # ...and our relay still carries the API: a command is acknowledged on it.
            assert backend.driver.connected.is_set()
            assert await backend.driver.control("# still ours") is True
            assert set(map(str, backend.driver.acknowledged(PEER))) == {"198.51.100.7/32"}
        finally:
            await backend.shutdown(graceful=False)
            await asyncio.wait_for(runner, 20)
        assert not pid_file(config).exists()

    try:
        asyncio.run(scenario())
    finally:
        if leftover.poll() is None:
            leftover.kill()
        leftover.wait()
