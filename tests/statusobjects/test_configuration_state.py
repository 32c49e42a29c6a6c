"""ConfigurationState: what a program says about its config, reading after reading."""

from __future__ import annotations

import datetime as dt
import ipaddress

from ironlb.config.model import AddressPool, AddressRange, Config, L2Advertisement
from ironlb.statusobjects.configuration import (
    MAX_ITEMS,
    MAX_SUMMARY,
    ConfigurationTracker,
    InputVersion,
    Problem,
    object_ref,
    problem_events,
)

T0 = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
CM = InputVersion("ConfigMap", "ironlb-system", "ironlb", None, "10")
POOL = InputVersion("IPAddressPool", "ironlb-system", "public", 1, "11")
POOL2 = InputVersion("IPAddressPool", "ironlb-system", "public", 2, "12")


def config(*names: str) -> Config:
    pools = tuple(
        AddressPool(n, (AddressRange(ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("192.0.2.9")),))
        for n in names
    )
    return Config(pools=pools, l2_advertisements=(L2Advertisement(name=names[0], pools=(names[0],)),))


def test_before_any_reading_nothing_is_known() -> None:
    status = ConfigurationTracker("controller").report.status()
    assert status["result"] == "Unknown" and status["configInForce"] == "None"
    assert status["errorCount"] == 0 and status["inForceSince"] is None


def test_valid_then_invalid_keeps_the_last_good_config_and_says_which_inputs_it_reflects() -> None:
    tracker = ConfigurationTracker("speaker-node1")
    good = tracker.update(config=config("public"), problems=[], inputs=[POOL, CM], now=T0).status()
    assert good["result"] == "Valid" and good["configInForce"] == "Latest"
    assert (
        good["observedInputs"]
        == good["inForceInputs"]
        == [
            {"kind": "ConfigMap", "namespace": "ironlb-system", "name": "ironlb", "resourceVersion": "10"},
            {
                "kind": "IPAddressPool",
                "namespace": "ironlb-system",
                "name": "public",
                "generation": 1,
                "resourceVersion": "11",
            },
        ]
    )
    assert good["inForce"]["pools"] == ["public"] and good["inForce"]["l2Advertisements"] == ["public"]
    assert good["inForceSince"] == "2025-01-02T03:04:05Z"
    assert good["errors"] == [] and good["errorSummary"] == ""

    bad = Problem(
        "IPAddressPool ironlb-system/public", "spec.addresses[0]", "'10.0.0.0/33' is not a valid CIDR"
    )
    later = T0 + dt.timedelta(minutes=5)
    status = tracker.update(config=config("public"), problems=[bad], inputs=[POOL2, CM], now=later).status()
    assert status["result"] == "Invalid" and status["configInForce"] == "LastGood"
    assert status["errors"] == [
        {
            "object": "IPAddressPool ironlb-system/public",
            "fieldPath": "spec.addresses[0]",
            "message": "'10.0.0.0/33' is not a valid CIDR",
        }
    ]
    assert status["errorCount"] == 1
    assert status["errorSummary"] == (
        "IPAddressPool ironlb-system/public: spec.addresses[0]: '10.0.0.0/33' is not a valid CIDR"
    )
    assert [i.get("generation") for i in status["observedInputs"]] == [None, 2]  # the invalid one seen
    assert [i.get("generation") for i in status["inForceInputs"]] == [None, 1]  # the good one serving
    assert status["inForceSince"] == "2025-01-02T03:04:05Z"

    fixed = tracker.update(config=config("public"), problems=[], inputs=[POOL2, CM], now=later).status()
    assert fixed["result"] == "Valid" and fixed["inForceSince"] == "2025-01-02T03:04:05Z"  # the same config
    assert [i.get("generation") for i in fixed["inForceInputs"]] == [None, 2]
    changed = tracker.update(config=config("public", "more"), problems=[], inputs=[POOL2], now=later)
    assert changed.in_force_since == "2025-01-02T03:09:05Z"


def test_invalid_from_the_start_has_no_config_in_force() -> None:
    tracker = ConfigurationTracker("controller")
    missing = Problem("ConfigMap ironlb-system/ironlb", "(root)", "not found")
    status = tracker.update(config=None, problems=[missing], inputs=[], now=T0).status()
    assert status["result"] == "Invalid" and status["configInForce"] == "None"
    assert status["inForceInputs"] == [] and status["inForce"] == {}
    # Neither a config nor a problem (a caller's mistake) still never claims to be valid.
    assert tracker.update(config=None, problems=[], inputs=[], now=T0).result == "Invalid"


def test_many_errors_are_all_counted_and_summarised_within_the_limits() -> None:
    problems = [Problem(f"BGPPeer ns/p{i}", "spec.peerAddress", "x" * 400) for i in range(500)]
    status = ConfigurationTracker("c").update(config=None, problems=problems, inputs=[], now=T0).status()
    assert status["errorCount"] == 500 and len(status["errors"]) == MAX_ITEMS
    assert len(status["errorSummary"]) <= MAX_SUMMARY
    assert status["errorSummary"].endswith("more")


def test_object_refs_and_one_warning_per_offending_object() -> None:
    assert object_ref("IPAddressPool ironlb-system/public") == ("IPAddressPool", "ironlb-system", "public")
    assert object_ref("Namespace apps") == ("Namespace", "", "apps")
    assert object_ref("") is None and object_ref("ConfigMap") is None
    problems = [
        Problem("IPAddressPool ns/a", "spec.addresses[0]", "bad"),
        Problem("BGPPeer ns/p", "spec.myASN", "out of range"),
        Problem("IPAddressPool ns/a", "spec.addresses[1]", "overlaps pool b"),
        Problem("", "(root)", "nothing to attach to"),
    ]
    assert problem_events(problems, keeping=True) == [
        (
            ("IPAddressPool", "ns", "a"),
            "invalid config (keeping the last good config): "
            "spec.addresses[0]: bad; spec.addresses[1]: overlaps pool b",
        ),
        (("BGPPeer", "ns", "p"), "invalid config (keeping the last good config): spec.myASN: out of range"),
    ]
    assert problem_events(problems[1:2], keeping=False)[0][1].startswith(
        "invalid config (no valid config yet)"
    )
