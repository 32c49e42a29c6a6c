"""IPAddressPool, BGPPeer, BFDProfile and Community objects → domain pools, peers, profiles and aliases.

Each object's values are judged by the field rules every input shares
(:mod:`ironlb.config.fields`, spelled as the CRDs spell them), so a bad ASN reads the
same here as in a ConfigMap; what is the resources' own is judged here: a BGPPeer's
``passwordSecret`` (in ironlb's namespace only), the MetalLB fields ironlb refuses or
only warns about (with the words of the CRD's rules, for objects that never met the API
server's schema: files, manifest directories), and Community aliases defined twice.
References between objects (a peer's ``bfdProfile``) and rules across objects are
:mod:`ironlb.config.resources.build`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ironlb.config import fields, values
from ironlb.config.model import AddressPool, AddressRange, BfdProfile, Community, Peer, SecretRef
from ironlb.config.resources.objects import Report, Resource
from ironlb.config.resources.wire import BGPPeerSpec, IPAddressPoolSpec, field_name
from ironlb.config.result import ObjectRef

SPEC = ("spec",)


@dataclass(frozen=True)
class Pool:
    """A pool from an IPAddressPool, with the labels advertisements select it by."""

    ref: ObjectRef
    pool: AddressPool
    labels: Mapping[str, str]


def pool(r: Report, res: Resource) -> tuple[Pool | None, tuple[AddressRange, ...]]:
    """One IPAddressPool (``None`` when any value is wrong, reported), and the address entries that parse
    (checked for overlaps even when the pool has other errors)."""
    spec: IPAddressPoolSpec = res.spec
    errors = r.count()
    ranges, problems = fields.address_ranges(spec.addresses, field_name)
    r.fields(res.ref, SPEC, problems)
    allocation = None
    if spec.service_allocation is not None:
        allocation, problems = fields.service_allocation(spec.service_allocation, field_name)
        r.fields(res.ref, (*SPEC, "serviceAllocation"), problems)
    if r.count() != errors or res.broken:
        return None, ranges
    domain = AddressPool(
        name=res.ref.name,
        ranges=ranges,
        auto_assign=True if spec.auto_assign is None else spec.auto_assign,
        avoid_buggy_ips=bool(spec.avoid_buggy_ips),
        allocation=allocation,
    )
    return Pool(res.ref, domain, res.labels), ranges


def bfd_profile(r: Report, res: Resource) -> BfdProfile | None:
    profile, problems = fields.bfd_profile(res.ref.name, res.spec, field_name)
    r.fields(res.ref, SPEC, problems)
    return None if res.broken else profile


def aliases(r: Report, objs: list[Resource]) -> dict[str, tuple[Community, ObjectRef]]:
    """Every alias of every Community object; one name with two different values is an error."""
    out: dict[str, tuple[Community, ObjectRef]] = {}
    for res in objs:
        seen: set[str] = set()
        for i, alias in enumerate(res.spec.communities or ()):
            path = f"spec.communities[{i}]"
            if not alias.name or ":" in alias.name:
                r.error(res.ref, f"{path}.name", "must be a non-empty name without ':'")
                continue
            try:
                value = values.parse_community_literal(alias.value or "")
            except ValueError as exc:
                r.error(res.ref, f"{path}.value", str(exc))
                continue
            if alias.name in seen:
                r.error(res.ref, f"{path}.name", f"alias {alias.name!r} is defined twice in this object")
                continue
            seen.add(alias.name)
            if alias.name in out and out[alias.name][0] != value:
                r.error(
                    res.ref,
                    f"{path}.name",
                    f"alias {alias.name!r} is also defined with another value by {out[alias.name][1]}; "
                    "keep one definition",
                )
                continue
            out.setdefault(alias.name, (value, res.ref))
    return out


# ---- BGPPeer -------------------------------------------------------------------------------------

REFUSED_PEER_FIELDS = {
    "vrf": "vrf is not supported by ironlb: it peers from the node's default VRF; remove vrf",
    "interface": "interface (unnumbered BGP) is not supported by ironlb: set peerAddress to the router's "
    "address and remove interface",
    "dynamic_asn": "dynamicASN is not supported by ironlb: set peerASN to the router's AS number and remove "
    "dynamicASN",
    "local_asn": "localASN is not supported by ironlb: the session uses myASN; remove localASN",
    "dual_stack_address_family": "dualStackAddressFamily is not supported by ironlb: each address family "
    "needs a BGPPeer of that family (an IPv6 peerAddress for IPv6 routes)",
}
"""MetalLB v1beta2 fields ironlb cannot honour, and what to do (the words of the CRD's rules)."""
CONNECT_TIME_WARNING = (
    "is accepted but not honoured: ironlb has no connect time setting; ExaBGP's connect retry is used"
)


def peer(r: Report, res: Resource, namespace: str) -> Peer | None:
    """One BGPPeer (``bfdProfile`` is only carried; the caller checks that it exists)."""
    spec: BGPPeerSpec = res.spec
    errors = r.count()
    for attr, message in REFUSED_PEER_FIELDS.items():
        value = getattr(spec, attr)
        if value not in (None, "", False):
            r.error(res.ref, f"spec.{field_name(attr)}", message)
    if spec.connect_time:
        try:
            seconds = values.parse_go_duration(spec.connect_time) / 1e9
            if not 1 <= seconds <= 65535:
                raise ValueError("must be a duration from 1s to 65535s")
            r.warn(res.ref, "spec.connectTime", f"{spec.connect_time!r} {CONNECT_TIME_WARNING}")
        except ValueError as exc:
            r.error(res.ref, "spec.connectTime", str(exc))
    domain, problems = fields.peer(spec, field_name)
    r.fields(res.ref, SPEC, problems)
    secret = _password_secret(r, res.ref, spec, namespace)
    if r.count() != errors or res.broken or domain is None:
        return None
    if fields.keepalive_ignored(domain) and spec.keepalive_time:
        r.warn(res.ref, "spec.keepaliveTime", fields.keepalive_message(domain, "holdTime"))
    return replace(
        domain, name=res.ref.name, graceful_restart=spec.enable_graceful_restart, password_secret=secret
    )


def _password_secret(r: Report, ref: ObjectRef, spec: BGPPeerSpec, namespace: str) -> SecretRef | None:
    secret = spec.password_secret
    if secret is None:
        return None
    if spec.password:
        r.error(ref, "spec.passwordSecret", "password and passwordSecret are mutually exclusive")
    if not secret.name:
        r.error(ref, "spec.passwordSecret.name", "required field is missing")
        return None
    if secret.namespace and secret.namespace != namespace:
        r.error(
            ref,
            "spec.passwordSecret.namespace",
            f"ironlb reads Secrets from its own namespace {namespace!r} only: create the Secret there "
            "and leave namespace out",
        )
    try:
        values.check_dns_subdomain(secret.name, "Secret name")
    except ValueError as exc:
        r.error(ref, "spec.passwordSecret.name", str(exc))
    return SecretRef(secret.name)
