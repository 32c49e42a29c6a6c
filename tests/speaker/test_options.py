"""Speaker flags and their environment equivalents; the JSON log format."""

from __future__ import annotations

import json
import logging

import pytest

from ironlb.logs import JsonFormatter
from speaker.options import parse_options


def test_environment_supplies_defaults_and_flags_win() -> None:
    env = {
        "NODE_NAME": "n1",
        "IRONLB_MANIFESTS": "/m",
        "IRONLB_MEMBERSHIP_KEY_FILE": "/k",
        "IRONLB_LOG_FORMAT": "json",
    }
    o = parse_options([], env)
    assert (o.node, o.manifests, o.membership_key_file, o.log_format) == ("n1", "/m", "/k", "json")
    assert (o.membership_port, o.metrics_address, o.membership_bind) == (7946, ":7473", "0.0.0.0")
    o = parse_options(["--node", "n2", "--membership-port", "8000", "--log-format", "text"], env)
    assert (o.node, o.membership_port, o.log_format) == ("n2", 8000, "text")


# Without IRONLB_MANIFESTS the speaker reads the Kubernetes API (tests/speaker/kube).
@pytest.mark.parametrize("missing", ["NODE_NAME", "IRONLB_MEMBERSHIP_KEY_FILE"])
def test_required_settings(missing: str) -> None:
    env = {"NODE_NAME": "n1", "IRONLB_MANIFESTS": "/m", "IRONLB_MEMBERSHIP_KEY_FILE": "/k"}
    del env[missing]
    with pytest.raises(SystemExit) as exc:
        parse_options([], env)
    assert exc.value.code == 2


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "speaker.x",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "ip %s",
            "args": ("192.0.2.1",),
        }
    )
    record.event = "nodeAssigned"
    doc = json.loads(JsonFormatter().format(record))
    assert doc["msg"] == "ip 192.0.2.1" and doc["event"] == "nodeAssigned" and doc["level"] == "info"


def test_membership_peers_follow_the_socket_family() -> None:
    from ironlb.cluster.seam import ClusterSnapshot
    from speaker.main import peers_from_snapshot

    def node(name: str, *addrs: str) -> dict[str, object]:
        return {
            "metadata": {"name": name},
            "status": {"addresses": [{"type": "InternalIP", "address": a} for a in addrs]},
        }

    snap = ClusterSnapshot(nodes=(node("a", "10.0.0.1", "fd00::1"), node("b", "fd00::2"), node("c")))  # type: ignore[arg-type]
    assert peers_from_snapshot(snap, 7946, ipv6=False) == {"a": ("10.0.0.1", 7946)}
    assert peers_from_snapshot(snap, 7946, ipv6=True) == {
        "a": ("::ffff:10.0.0.1", 7946),
        "b": ("fd00::2", 7946),
    }


def test_every_failover_timing_is_a_flag_and_an_environment_variable() -> None:
    from speaker.failover import GratuitousTiming, Timing

    base = {"NODE_NAME": "n1", "IRONLB_MANIFESTS": "/m", "IRONLB_MEMBERSHIP_KEY_FILE": "/k"}
    o = parse_options([], base)
    assert (o.membership_timing, o.layer2_timing) == (Timing(), GratuitousTiming())
    env = base | {"IRONLB_MEMBERSHIP_PROBE_INTERVAL": "0.2", "IRONLB_LAYER2_SETTLE": "0"}
    o = parse_options(["--membership-ack-timeout", "0.07", "--membership-handover", "death"], env)
    assert o.membership_timing == Timing(probe_interval=0.2, ack_timeout=0.07, handover="death")
    assert o.layer2_timing == GratuitousTiming(settle=0.0)
    o = parse_options(["--membership-max-health", "0", "--layer2-gratuitous-repeats", "2"], base)
    assert (o.membership_timing.max_health, o.layer2_timing.repeats) == (0, 2)


@pytest.mark.parametrize(
    "argv",
    [
        ["--membership-probe-interval", "0"],
        ["--membership-ack-timeout", "-1"],
        ["--membership-nack-timeout", "soon"],
        ["--membership-indirect-probes", "1.5"],
        ["--layer2-settle", "inf"],
        ["--membership-handover", "never"],
    ],
)
def test_bad_timings_are_refused_with_their_flag(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    env = {"NODE_NAME": "n1", "IRONLB_MANIFESTS": "/m", "IRONLB_MEMBERSHIP_KEY_FILE": "/k"}
    with pytest.raises(SystemExit) as exc:
        parse_options(argv, env)
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err
