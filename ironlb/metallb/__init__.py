"""``ironlb convert``: MetalLB ≥0.13 CRD manifests → ironlb's config, nothing dropped silently.

MetalLB users since 0.13 configure it with CRDs (IPAddressPool, L2Advertisement,
BGPAdvertisement, BGPPeer, BFDProfile, Community, and the deprecated AddressPool
that the legacy format maps one to one). ironlb's domain model is MetalLB's, so
this package maps them onto a domain :class:`~ironlb.config.model.Config` almost
one to one (:func:`to_model`: what ``ironlb convert`` writes as ``ironlb.io``
resources), then, for ``--to configmap``, onto the legacy ConfigMap
(:func:`convert`), with a finding (source, field, what ironlb does instead) for
everything that cannot be carried over.

Pure: ``documents`` turns text into objects, ``decoding`` sorts them by kind and
decodes each with its model from ``crds``, ``mapping``
(with ``pools``, ``profiles`` and ``peers``) builds the config, checking values
with the field rules every input shares (``ironlb.config.fields``);
``ironlb.cli.convert`` reads files (or standard input) and prints.
"""

from __future__ import annotations

from ironlb.metallb.documents import Manifest, manifests_from_text
from ironlb.metallb.findings import Finding, Origin, Severity, Source
from ironlb.metallb.mapping import Conversion, convert, to_model

__all__ = [
    "Conversion",
    "Finding",
    "Manifest",
    "Origin",
    "Severity",
    "Source",
    "convert",
    "manifests_from_text",
    "to_model",
]
