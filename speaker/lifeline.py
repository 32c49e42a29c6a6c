"""Start a daemon so that it dies with the speaker, whatever kills the speaker.

Why: outside a PID namespace (``--manifests``, the lab, a supervisor that signals one
PID) a SIGKILLed speaker used to leave ExaBGP announcing every route with nobody in
control. The kernel's parent-death signal (``PR_SET_PDEATHSIG``) closes that gap, with
sharp edges that this launcher handles:

- a process sets it on itself, between fork and exec; Python's ``preexec_fn`` is unsafe
  in a program with threads (the speaker has informer threads), so the speaker execs
  this small program, which sets it and execs the daemon: the PID stays the daemon's
  (``exec`` mode). It survives ``execve`` (``ip netns exec`` too, which execs);
- the speaker may die before the signal is set: the launcher then sees that its parent
  is no longer the speaker (its PID is passed in) and exits instead of starting;
- it fires when the *thread* that forked dies, not the process: the speaker forks from
  its event-loop thread, which lives as long as it does;
- the kernel clears it when the process changes its credentials: bfdd switching to the
  ``frr`` user loses it. In ``guard`` mode this program stays as the daemon's parent: the
  speaker's death reaches it (SIGTERM), and it SIGKILLs the daemon; a SIGTERM while the
  speaker lives (a normal stop) is passed on; it exits with the daemon's status.

Run by path (``python -I -S lifeline.py MODE SPEAKER_PID COMMAND...``) and importing
nothing from ironlb, so that it starts in a few milliseconds and cannot fail on a
package import. Hand-written: ``prctl(2)`` through ctypes; no library offers this.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
USAGE = "usage: lifeline.py exec|guard SPEAKER_PID COMMAND [ARG...]\n"
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def set_parent_death_signal(signum: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")


def _exec(argv: list[str]) -> None:
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.stderr.write(f"lifeline: cannot run {argv[0]}: {exc}\n")
        os._exit(127)


def run_exec(speaker: int, argv: list[str]) -> int:
    """Become the daemon, marked to be SIGKILLed when the speaker dies."""
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != speaker:
        sys.stderr.write(f"lifeline: speaker {speaker} is gone; not starting {argv[0]}\n")
        return 1
    _exec(argv)
    return 127  # not reached


def run_guard(speaker: int, argv: list[str]) -> int:
    """Stay as the daemon's parent: its death signal cannot be cleared by the daemon (see above)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != speaker:
        sys.stderr.write(f"lifeline: speaker {speaker} is gone; not starting {argv[0]}\n")
        return 1
    guard = os.getpid()
    child = os.fork()
    if child == 0:
        set_parent_death_signal(signal.SIGKILL)  # a SIGKILLed guard takes the daemon along
        if os.getppid() != guard:
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        _exec(argv)

    def pass_on(signum: int, _frame: object) -> None:
        # Our parent changed: the speaker died (this is the death signal). Otherwise a stop.
        os.kill(child, signal.SIGKILL if os.getppid() != speaker else signum)

    for signum in FORWARDED:
        signal.signal(signum, pass_on)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)  # a death signal sent meanwhile arrives now
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[1] not in ("exec", "guard") or not (argv[2].isascii() and argv[2].isdigit()):
        sys.stderr.write(USAGE)
        return 2
    mode, speaker, command = argv[1], int(argv[2]), argv[3:]
    if mode == "exec":
        return run_exec(speaker, command)
    return run_guard(speaker, command)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
