"""The CustomResourceDefinitions of ironlb's config kinds (``ironlb.io/v1beta1``), written once, in Python.

Why generated: the seven kinds share most of their parts (label selectors, communities,
addresses, the MetalLB fields ironlb refuses), and a CRD is a long, repetitive YAML
document; one description renders every file under ``config/crd/bases/``: the building blocks
in :mod:`~ironlb.config.resources.schemaparts`, each kind's spec in
:mod:`~ironlb.config.resources.kindspecs`, and here the kinds' names, columns and CRD files
(``scripts/crds.py`` writes them, a test checks they are up to date, another that every
field here is a field of the wire models in :mod:`ironlb.config.resources.wire`).

What the API server refuses with this schema (``kubectl apply`` fails, naming the field):
what one object alone cannot be -- a malformed CIDR, range, IP address, duration, label or
community, an ASN, port, aggregation length, localPref or BFD interval out of range, an
unknown selector operator, a required field missing, and MetalLB fields ironlb cannot honour
(``vrf``, ``interface``, ``dynamicASN``, ``localASN``, ``dualStackAddressFamily: true``, an
advertisement's ``serviceSelectors``), each by name with what to do instead. What needs
several objects (overlapping pools, a name nobody defines) or finer checks (a range whose
start is after its end, host bits) is the programs' (:mod:`ironlb.config.load`), with the
same words. MetalLB's field names and meanings are kept, so a MetalLB 0.16 object needs only
a new ``apiVersion``.

The IP and CIDR functions of Kubernetes' CEL (``isIP``, ``isCIDR``) need Kubernetes 1.31 or
newer; every list and string has a bound so that the rules' cost stays within the server's
budget.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from ironlb.config.resources.kindspecs import (
    bfd_profile_spec,
    bgp_advertisement_spec,
    bgp_peer_spec,
    cluster_ip_advertisement_spec,
    community_spec,
    ip_address_pool_spec,
    l2_advertisement_spec,
)
from ironlb.config.resources.schemaparts import obj

GROUP = "ironlb.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "ironlb"
EXTRA_VERSIONS: dict[str, tuple[str, ...]] = {"BGPPeer": ("v1beta2",)}
"""Versions served besides ``v1beta1``, with the same schema (stored as ``v1beta1``; the API server
only rewrites ``apiVersion``): MetalLB's BGPPeer is ``metallb.io/v1beta2``, and its objects need
only a new group."""
"""``kubectl get ironlb`` lists every ironlb object."""


# ---- CRDs --------------------------------------------------------------------------------------


def _column(name: str, path: str, kind: str = "string", priority: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        out["priority"] = priority
    return out


AGE = _column("Age", ".metadata.creationTimestamp", "date")

KINDS: dict[str, tuple[str, str, Any, list[dict[str, Any]]]] = {
    # kind: (plural, description, spec, printer columns)
    "IPAddressPool": (
        "ipaddresspools",
        "A pool of addresses handed out to LoadBalancer Services (MetalLB's IPAddressPool).",
        ip_address_pool_spec,
        [
            _column("Auto Assign", ".spec.autoAssign", "boolean"),
            _column("Avoid Buggy IPs", ".spec.avoidBuggyIPs", "boolean"),
            _column("Addresses", ".spec.addresses"),
            _column("Priority", ".spec.serviceAllocation.priority", "integer"),
            AGE,
        ],
    ),
    "L2Advertisement": (
        "l2advertisements",
        "Announce pools with ARP/NDP from chosen nodes on chosen interfaces (MetalLB's L2Advertisement).",
        l2_advertisement_spec,
        [
            _column("IPAddressPools", ".spec.ipAddressPools"),
            _column("IPAddressPool Selectors", ".spec.ipAddressPoolSelectors"),
            _column("Interfaces", ".spec.interfaces"),
            _column("Node Selectors", ".spec.nodeSelectors", priority=10),
            AGE,
        ],
    ),
    "BGPAdvertisement": (
        "bgpadvertisements",
        "Announce pools over BGP from chosen nodes to chosen peers (MetalLB's BGPAdvertisement).",
        bgp_advertisement_spec,
        [
            _column("IPAddressPools", ".spec.ipAddressPools"),
            _column("IPAddressPool Selectors", ".spec.ipAddressPoolSelectors"),
            _column("Peers", ".spec.peers"),
            _column("Aggregation", ".spec.aggregationLength", "integer", priority=10),
            _column("Node Selectors", ".spec.nodeSelectors", priority=10),
            AGE,
        ],
    ),
    "BGPPeer": (
        "bgppeers",
        "A BGP router the nodes peer with (MetalLB's BGPPeer).",
        bgp_peer_spec,
        [
            _column("Address", ".spec.peerAddress"),
            _column("ASN", ".spec.peerASN", "integer"),
            _column("My ASN", ".spec.myASN", "integer"),
            _column("BFD Profile", ".spec.bfdProfile"),
            _column("Multi Hops", ".spec.ebgpMultiHop", "boolean"),
            _column("Node Selectors", ".spec.nodeSelectors", priority=10),
            AGE,
        ],
    ),
    "BFDProfile": (
        "bfdprofiles",
        "BFD settings for BGP peers (MetalLB's BFDProfile).",
        bfd_profile_spec,
        [
            _column("Passive Mode", ".spec.passiveMode", "boolean"),
            _column("Transmit Interval", ".spec.transmitInterval", "integer"),
            _column("Receive Interval", ".spec.receiveInterval", "integer"),
            _column("Multiplier", ".spec.detectMultiplier", "integer"),
            AGE,
        ],
    ),
    "Community": (
        "communities",
        "Names for BGP communities, used by advertisements (MetalLB's Community).",
        community_spec,
        [_column("Aliases", ".spec.communities[*].name"), AGE],
    ),
    "ClusterIPAdvertisement": (
        "clusteripadvertisements",
        "Announce the Service ClusterIP range over BGP from every selected node (ironlb's own).",
        cluster_ip_advertisement_spec,
        [
            _column("CIDRs", ".spec.cidrs"),
            _column("Local Routes", ".spec.localRoutes", "boolean"),
            _column("External IPs", ".spec.externalIPs", "boolean"),
            _column("Peers", ".spec.peers"),
            AGE,
        ],
    ),
}
"""The config kinds, in the order the files are listed."""

CONFIG_KINDS = tuple(KINDS)
SPEC_REQUIRED = frozenset({"IPAddressPool", "BGPPeer", "ClusterIPAdvertisement"})
"""Kinds whose objects need a spec (the others mean something with none: every pool, every node...)."""


def api_versions(kind: str) -> tuple[str, ...]:
    """The ``apiVersion`` values an object of ``kind`` may have (the stored one first)."""
    return (API_VERSION, *(f"{GROUP}/{v}" for v in EXTRA_VERSIONS.get(kind, ())))


def plural(kind: str) -> str:
    return KINDS[kind][0]


def crd(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of ``kind``."""
    plural_name, description, spec, columns = KINDS[kind]
    root = obj(
        description,
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec(),
        },
        required=["spec"] if kind in SPEC_REQUIRED else None,
    )
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural_name}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "ironlb", "app.kubernetes.io/component": "config"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural_name,
                "singular": kind.lower(),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": version == VERSION,
                    "additionalPrinterColumns": copy.deepcopy(columns),
                    "schema": {"openAPIV3Schema": copy.deepcopy(root)},
                }
                for version in (VERSION, *EXTRA_VERSIONS.get(kind, ()))
            ],
        },
    }


HEADER = (
    "# Generated by scripts/crds.py from ironlb/config/resources/schema.py: edit that file and run\n"
    "# `python scripts/crds.py` (a test checks that this file is up to date).\n"
)


def crd_file(kind: str) -> tuple[str, str]:
    """The path under ``config/crd/`` and the text of ``kind``'s CRD file."""
    text = yaml.safe_dump(crd(kind), sort_keys=False, width=110, allow_unicode=True)
    return f"bases/{GROUP}_{plural(kind)}.yaml", HEADER + "---\n" + text


BUNDLE_HEADER = (
    "# Generated by scripts/crds.py: every CRD that config/crd/kustomization.yaml lists, in its order,\n"
    "# so that config/default installs them and still renders with kubectl 1.20 (whose kustomize\n"
    "# cannot include a directory through `resources`). Do not edit: edit config/crd and run\n"
    "# `python scripts/crds.py`.\n"
)


def bundle(texts: list[str]) -> str:
    """One multi-document file of CRD files' ``texts`` (their comment headers dropped)."""
    docs = []
    for text in texts:
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()
        body = body.removeprefix("---").strip()
        docs.append("---\n" + body + "\n")
    return BUNDLE_HEADER + "".join(docs)
