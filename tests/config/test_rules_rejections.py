"""Every rejection of the config format, with its path and message, and all errors reported at once."""

from __future__ import annotations

import pytest

from tests.config.rejection_tables import peers, pools, shape
from tests.config.rejections import Rejection, assert_rejected, errors_of

# (id, config, [(path, substring of message)]) -- the errors must be exactly these, in any order.
REJECTIONS: list[Rejection] = pools.REJECTIONS + peers.REJECTIONS + shape.REJECTIONS


@pytest.mark.parametrize(("case", "text", "expected"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejection(case: str, text: str, expected: list[tuple[str, str]]) -> None:
    assert_rejected(text, expected)


def test_all_errors_reported_at_once_across_sections() -> None:
    errors = errors_of(
        """
        peers:
        - {peer-address: 172.30.0.999, peer-asn: 64512, my-asn: 64513, peer-port: '179'}
        bgp-communities: {ok: '1:1'}
        address-pools:
        - {name: a, protocol: layer2, addresses: [10.0.0.0/33], unknown: 1}
        - {name: b, protocol: bgp, addresses: [10.1.0.0/24], bgp-advertisements: [{communities: [nope]}]}
        bfd-profiles: [{name: x, detect-multiplier: 1}]
        l2: {interfaces: ['']}
        """
    )
    paths = [e.split(": ", 1)[0] for e in errors]
    assert paths == [
        "peers[0].peer-port",  # a shape error does not hide the semantic one of the same item
        "peers[0].peer-address",
        "address-pools[0].unknown",
        "address-pools[0].addresses[0]",
        "address-pools[1].bgp-advertisements[0].communities[0]",
        "bfd-profiles[0].detect-multiplier",
        "l2.interfaces[0]",
    ]
