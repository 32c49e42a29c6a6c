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


# Without IRONLB_MANIFESTS the speaker reads the Kubernetes API (tests/speaker_kube).
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
