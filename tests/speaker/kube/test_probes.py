"""The speaker's readiness and liveness decisions, and the probe server both programs share.

Readiness and liveness are pure functions of a small status and a clock reading, so every
reason is checked without a process or a sleep; the shared server is checked on loopback
with an ephemeral port.
"""

from __future__ import annotations

import dataclasses
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from ironlb.probes import ProbeServer
from speaker.probes import STALE_AFTER, Heartbeat, SpeakerStatus, liveness, readiness

READY = SpeakerStatus(
    snapshot=True,
    config_loaded=True,
    config_problem=None,
    membership_started=True,
    api_problem=None,
    configmap="ironlb-system/ironlb",
)
API_403 = "cannot use the Kubernetes API server https://10.0.0.1: 403 Forbidden on list services"


def test_ready_when_everything_is_there() -> None:
    assert readiness(READY) is None


def test_a_config_gone_bad_later_keeps_the_speaker_ready() -> None:
    stale = dataclasses.replace(READY, config_problem="invalid: address-pools[0]: bad CIDR")
    assert readiness(stale) is None
    gone = dataclasses.replace(READY, config_problem="the ConfigMap does not exist")
    assert readiness(gone) is None


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"snapshot": False, "config_loaded": False}, "first full read of the cluster state"),
        ({"config_loaded": False}, "no valid config in ConfigMap ironlb-system/ironlb: not read yet"),
        (
            {"config_loaded": False, "config_problem": "the ConfigMap does not exist"},
            "no valid config in ConfigMap ironlb-system/ironlb: the ConfigMap does not exist",
        ),
        (
            {"config_loaded": False, "config_problem": "invalid: bad CIDR"},
            "ironlb-system/ironlb: invalid: bad CIDR",
        ),
        ({"membership_started": False}, "membership not started"),
        ({"api_problem": API_403}, API_403),
    ],
)
def test_each_missing_piece_is_named(change: dict[str, object], needle: str) -> None:
    reason = readiness(dataclasses.replace(READY, **change))  # type: ignore[arg-type]
    assert reason is not None and needle in reason, reason


def test_an_api_problem_is_the_reason_even_before_the_first_read() -> None:
    """A 403 is why nothing was read: the actionable line comes first."""
    nothing = dataclasses.replace(READY, snapshot=False, config_loaded=False, membership_started=False)
    assert readiness(dataclasses.replace(nothing, api_problem=API_403)) == API_403


def test_alive_while_the_loop_beats() -> None:
    assert liveness(100.0, 100.0) is None
    assert liveness(100.0, 100.0 + STALE_AFTER) is None  # at the bound: still alive


def test_a_loop_that_stopped_beating_is_dead() -> None:
    reason = liveness(100.0, 100.0 + STALE_AFTER + 5)
    assert reason is not None and "event loop has not run for 35 s" in reason
    assert liveness(0.0, 11.0, stale_after=10.0) is not None


def test_a_failed_task_is_dead_even_with_a_fresh_beat() -> None:
    reason = liveness(100.0, 100.0, failed="bgp")
    assert reason is not None and "bgp" in reason


def test_heartbeat_takes_the_clock_on_each_beat() -> None:
    now = [5.0]
    hb = Heartbeat(clock=lambda: now[0])
    assert hb.last == 5.0
    now[0] = 50.0
    assert liveness(hb.last, now[0]) is not None
    hb.beat()
    assert hb.last == 50.0 and liveness(hb.last, now[0]) is None


# ---- the shared server -------------------------------------------------------------------


class Probed:
    def __init__(self) -> None:
        self.alive: str | None = None
        self.ready: str | None = "no valid config"
        self.accepts: list[str] = []

    def metrics(self, accept: str) -> tuple[bytes, str]:
        self.accepts.append(accept)
        return b"x_total 1.0\n", "text/plain; version=0.0.4"


@pytest.fixture
def served() -> Iterator[tuple[Probed, ProbeServer]]:
    p = Probed()
    server = ProbeServer(
        "", 0, metrics=p.metrics, liveness=lambda: p.alive, readiness=lambda: p.ready
    ).start()
    try:
        yield p, server
    finally:
        server.stop()


def get(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    req = urllib.request.Request(f"http://{host}:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return int(r.status), r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.headers["Content-Type"], exc.read().decode()


def test_probes_answer_with_their_reasons(served: tuple[Probed, ProbeServer]) -> None:
    p, server = served
    assert get("127.0.0.1", server.port, "/readyz")[::2] == (503, "not ready: no valid config\n")
    assert get("127.0.0.1", server.port, "/healthz")[::2] == (200, "ok\n")
    p.ready, p.alive = None, "unhealthy: loop stuck"
    assert get("127.0.0.1", server.port, "/readyz")[::2] == (200, "ok\n")
    assert get("127.0.0.1", server.port, "/healthz")[::2] == (503, "unhealthy: loop stuck\n")
    assert get("127.0.0.1", server.port, "/nothing")[0] == 404


def test_metrics_get_the_scrapers_accept_header(served: tuple[Probed, ProbeServer]) -> None:
    p, server = served
    om = "application/openmetrics-text; version=1.0.0"
    code, ctype, body = get("127.0.0.1", server.port, "/metrics?x=1", {"Accept": om})
    assert (code, ctype, body) == (200, "text/plain; version=0.0.4", "x_total 1.0\n")
    assert p.accepts == [om]


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback here")
def test_every_address_means_both_families(served: tuple[Probed, ProbeServer]) -> None:
    """A hostNetwork pod is probed on the node's primary address, IPv4 or IPv6."""
    _, server = served
    assert get("[::1]", server.port, "/healthz")[0] == 200
    assert get("127.0.0.1", server.port, "/healthz")[0] == 200
