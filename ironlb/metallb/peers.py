"""MetalLB ``BGPPeer`` (v1beta1 and v1beta2) → ironlb :class:`~ironlb.config.model.Peer`.

Most fields map one to one onto the legacy ``peers`` entry. v1beta2 added
fields the legacy format has no place for; each is reported where it is set,
with what ironlb does instead:

- ``dynamicASN`` (no fixed ``peerASN``) and ``interface`` (unnumbered BGP, no
  ``peerAddress``): ironlb needs both an ASN and an address, so such a peer is
  left out (lossy).
- ``passwordSecret``: ironlb reads MD5 passwords from its own Secret
  ``ironlb-bgp-passwords`` (one key per peer address), mounted into the speaker
  at ``--bgp-password-dir``; the Secret's value is never read here.
- ``connectTime``, ``vrf``, ``dualStackAddressFamily``: not expressible; the
  session uses ExaBGP's connect retry and the node's default VRF, and carries
  only the address family of the peer address (ironlb's rule), which is what
  ``disableMP: true`` asks for, so that one is only a note.
- ``enableGracefulRestart``: ironlb's speaker does graceful restart for every
  peer (``--bgp-graceful-restart``, default 120 s), so only a note.
"""

from __future__ import annotations

import ipaddress

from ironlb.config import values as v
from ironlb.config.model import IPAddress, Peer
from ironlb.metallb.crds import BGPPeerSpec
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report
from ironlb.metallb.selectors import label_selectors

UINT32_MAX = 2**32 - 1

PASSWORD_HINT = (
    "ironlb reads MD5 passwords from the Secret ironlb-bgp-passwords in ironlb-system (one key per peer "
    "address, IPv6 ':' written '_'), mounted into the speaker at --bgp-password-dir: copy the 'password' "
    "key of this Secret there, e.g. kubectl -n ironlb-system create secret generic ironlb-bgp-passwords "
    "--from-literal={address}=PASSWORD"
)


def convert_peer(r: Report, source: Source, spec: BGPPeerSpec, bfd_profiles: set[str]) -> Peer | None:
    """One peer, or ``None`` (with findings) when it cannot be expressed or is invalid."""
    errors_before = sum(f.severity == "error" for f in r.findings)
    usable = True
    my_asn = _asn(r, source, "spec.myASN", spec.my_asn)
    peer_asn: int | None = None
    if spec.dynamic_asn:
        if spec.peer_asn:
            r.add("error", source, "spec.dynamicASN", "dynamicASN and peerASN are mutually exclusive")
        else:
            r.add(
                "lossy",
                source,
                "spec.dynamicASN",
                f"ironlb needs a fixed peer ASN ({spec.dynamic_asn} "
                "cannot be expressed); this peer is left out: set spec.peerASN and convert again",
            )
            usable = False
    else:
        peer_asn = _asn(r, source, "spec.peerASN", spec.peer_asn)

    address: IPAddress | None = None
    if spec.interface:
        if spec.peer_address:
            r.add("error", source, "spec.interface", "interface and peerAddress are mutually exclusive")
        else:
            r.add(
                "lossy",
                source,
                "spec.interface",
                "ironlb has no unnumbered BGP (peering over an interface); "
                "this peer is left out: set spec.peerAddress to the router's address and convert again",
            )
            usable = False
    elif not spec.peer_address:
        r.add("error", source, "spec.peerAddress", "required field is missing")
    else:
        address = _ip(r, source, "spec.peerAddress", spec.peer_address)

    port = spec.peer_port or 179  # MetalLB: 0 (omitempty) means the default
    if not 1 <= port <= 65535:
        r.add("error", source, "spec.peerPort", f"{port} is out of range (1..65535)")
    hold = 90
    if spec.hold_time:
        try:
            hold = v.parse_hold_time(spec.hold_time)
        except ValueError as exc:
            r.add("error", source, "spec.holdTime", str(exc))
    keepalive = hold // 3
    if spec.keepalive_time:
        try:
            keepalive = v.parse_keepalive_time(spec.keepalive_time)
        except ValueError as exc:
            r.add("error", source, "spec.keepaliveTime", str(exc))
        else:
            if keepalive > hold:
                r.add(
                    "error",
                    source,
                    "spec.keepaliveTime",
                    f"keepalive time {keepalive}s must not exceed the hold time {hold}s",
                )
    router_id = _ip(r, source, "spec.routerID", spec.router_id)
    if router_id is not None and not isinstance(router_id, ipaddress.IPv4Address):
        r.add("error", source, "spec.routerID", f"router ID {spec.router_id!r} must be an IPv4 address")
    source_address = _ip(r, source, "spec.sourceAddress", spec.source_address)
    selectors = label_selectors(r, source, "spec.nodeSelectors", spec.node_selectors)
    if spec.bfd_profile and spec.bfd_profile not in bfd_profiles:
        r.add(
            "error",
            source,
            "spec.bfdProfile",
            f"no BFDProfile {spec.bfd_profile!r} in the input: add its manifest, or remove bfdProfile",
        )
    _lossy_fields(r, source, spec)

    failed = sum(f.severity == "error" for f in r.findings) != errors_before
    if failed or not usable or my_asn is None or peer_asn is None or address is None or selectors is None:
        return None
    return Peer(
        my_asn=my_asn,
        peer_asn=peer_asn,
        peer_address=address,
        peer_port=port,
        hold_time=float(hold),
        keepalive_time=float(keepalive),
        router_id=router_id if isinstance(router_id, ipaddress.IPv4Address) else None,
        source_address=source_address,
        password=str.__str__(spec.password) if spec.password else None,
        node_selectors=selectors,
        bfd_profile=str.__str__(spec.bfd_profile) if spec.bfd_profile else None,
        ebgp_multihop=bool(spec.ebgp_multihop),
    )


def _lossy_fields(r: Report, source: Source, spec: BGPPeerSpec) -> None:
    secret = spec.password_secret
    if secret is not None and (secret.name or secret.namespace):
        address = (spec.peer_address or "ADDRESS").replace(":", "_")
        r.add(
            "lossy",
            source,
            "spec.passwordSecret",
            f"not converted (Secret {secret.name or '?'}); " + PASSWORD_HINT.format(address=address),
        )
    if spec.connect_time:
        r.add(
            "lossy",
            source,
            "spec.connectTime",
            "ironlb has no connect time setting; ExaBGP's connect retry is used",
        )
    if spec.vrf:
        r.add(
            "lossy",
            source,
            "spec.vrf",
            f"ironlb peers from the node's default VRF, not VRF {spec.vrf!r}; "
            "the session only comes up if the peer is reachable there",
        )
    if spec.disable_mp:
        r.add(
            "note",
            source,
            "spec.disableMP",
            "ironlb always announces each address family only over a session of that family, as "
            "disableMP: true asks",
        )
    if spec.dual_stack_address_family:
        r.add(
            "lossy",
            source,
            "spec.dualStackAddressFamily",
            "ironlb announces each family over a session "
            "of that family; the other family is not carried over this session",
        )
    if spec.enable_graceful_restart:
        r.add(
            "note",
            source,
            "spec.enableGracefulRestart",
            "ironlb's speaker does graceful restart for every peer (--bgp-graceful-restart, default 120 s)",
        )


def _asn(r: Report, source: Source, path: str, value: int | None) -> int | None:
    if value is None:
        r.add("error", source, path, "required field is missing")
        return None
    if not 1 <= value <= UINT32_MAX:
        r.add("error", source, path, f"{value} is out of range (1..{UINT32_MAX})")
        return None
    return value


def _ip(r: Report, source: Source, path: str, text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        return v.parse_ip(text)
    except ValueError as exc:
        r.add("error", source, path, str(exc))
        return None
