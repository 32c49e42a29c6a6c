"""MetalLB ``BGPPeer`` (v1beta1 and v1beta2) → ironlb :class:`~ironlb.config.model.Peer`.

Most fields map one to one (the peer keeps its object's name, which
BGPAdvertisements' ``peers`` refer to; ``passwordSecret`` and
``enableGracefulRestart`` too). v1beta2 added fields ironlb has no place for;
each is reported where it is set, with what ironlb does instead:

- ``dynamicASN`` (no fixed ``peerASN``) and ``interface`` (unnumbered BGP, no
  ``peerAddress``): ironlb needs both an ASN and an address, so such a peer is
  left out (lossy).
- ``passwordSecret``: kept; ironlb reads the Secret from its own namespace, so it
  must be copied there (a note).
- ``connectTime``, ``vrf``, ``dualStackAddressFamily``: not expressible; the
  session uses ExaBGP's connect retry and the node's default VRF, and carries
  only the address family of the peer address (ironlb's rule), which is what
  ``disableMP: true`` asks for, so that one is only a note.

What the legacy ConfigMap cannot hold (a password Secret, a per-peer graceful
restart) is reported by ``ironlb.config.legacy`` when converting to it.
"""

from __future__ import annotations

from dataclasses import replace

from ironlb.config import fields
from ironlb.config.model import Peer, SecretRef
from ironlb.config.resources.wire import field_name
from ironlb.metallb.crds import BGPPeerSpec
from ironlb.metallb.findings import Source
from ironlb.metallb.report import Report


def convert_peer(r: Report, source: Source, spec: BGPPeerSpec, bfd_profiles: set[str]) -> Peer | None:
    """One peer, or ``None`` (with findings) when it cannot be expressed or is invalid.

    The values are checked by ironlb's field rules (:func:`ironlb.config.fields.peer`), as
    in a ConfigMap; what is MetalLB's own (``dynamicASN``, ``interface``, fields with no
    place in ironlb) is reported here.
    """
    errors_before = r.errors
    handled = _alternatives(r, source, spec)
    # MetalLB: peerPort 0 (omitempty) means the default.
    peer, problems = fields.peer(spec.model_copy(update={"peer_port": spec.peer_port or None}), field_name)
    r.problems(source, "spec", [p for p in problems if p.field[0] not in handled])
    if spec.bfd_profile and spec.bfd_profile not in bfd_profiles:
        r.add(
            "error",
            source,
            "spec.bfdProfile",
            f"no BFDProfile {spec.bfd_profile!r} in the input: add its manifest, or remove bfdProfile",
        )
    _lossy_fields(r, source, spec)
    secret = _password_secret(r, source, spec)
    if handled or r.errors != errors_before or peer is None:
        return None
    return replace(
        peer, name=source.name, graceful_restart=spec.enable_graceful_restart, password_secret=secret
    )


def _password_secret(r: Report, source: Source, spec: BGPPeerSpec) -> SecretRef | None:
    secret = spec.password_secret
    if secret is None or not (secret.name or secret.namespace):
        return None
    if spec.password:
        r.add("error", source, "spec.passwordSecret", "password and passwordSecret are mutually exclusive")
        return None
    if not secret.name:
        r.add("error", source, "spec.passwordSecret.name", "required field is missing")
        return None
    r.add(
        "note",
        source,
        "spec.passwordSecret",
        f"ironlb reads the Secret {secret.name} (key 'password') from its own namespace, not from "
        f"{secret.namespace or 'metallb-system'}: copy it there",
    )
    return SecretRef(secret.name)


_LEFT_OUT = {
    "dynamic_asn": "ironlb needs a fixed peer ASN ({value} cannot be expressed); this peer is left out: "
    "set spec.peerASN and convert again",
    "interface": "ironlb has no unnumbered BGP (peering over an interface); this peer is left out: "
    "set spec.peerAddress to the router's address and convert again",
}
"""v1beta2 fields that stand for ``peerASN`` / ``peerAddress``, and why ironlb cannot follow them."""
_STANDS_FOR = {"dynamic_asn": "peer_asn", "interface": "peer_address"}


def _alternatives(r: Report, source: Source, spec: BGPPeerSpec) -> set[str]:
    """``dynamicASN`` and ``interface``, which stand for ``peerASN`` and ``peerAddress``: the fields they
    replace (their findings are said here), when set."""
    handled: set[str] = set()
    for attr, replaced in _STANDS_FOR.items():
        value = getattr(spec, attr)
        if not value:
            continue
        name, other = field_name(attr), field_name(replaced)
        handled.add(other)
        if getattr(spec, replaced):
            r.add("error", source, f"spec.{name}", f"{name} and {other} are mutually exclusive")
        else:
            r.add("lossy", source, f"spec.{name}", _LEFT_OUT[attr].format(value=value))
    return handled


def _lossy_fields(r: Report, source: Source, spec: BGPPeerSpec) -> None:
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
