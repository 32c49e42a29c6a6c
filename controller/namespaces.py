"""The labels of the cluster's Namespaces, read from the controller's Namespace informer.

Why: pools may admit Services by namespace label selectors (``serviceAllocation.namespaceSelectors``),
so every allocation request carries its namespace's labels (``ironlb.allocator.translate``). This
adapter gives the informer's cache as the mapping that translation reads, without copying it per
request; a namespace not listed yet has only its name label (as the translation assumes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import cast

from ironlb.allocator.translate import namespace_labels
from ironlb.kube.informer import Informer
from ironlb.kube_types import NAMESPACE_NAME_LABEL, Namespace


class NamespaceLabelsView(Mapping[str, Mapping[str, str]]):
    """Namespace name -> its labels (with ``kubernetes.io/metadata.name``), live from ``informer``."""

    def __init__(self, informer: Informer) -> None:
        self._informer = informer

    def __getitem__(self, name: str) -> Mapping[str, str]:
        obj = self._informer.get(name)
        if obj is None:
            raise KeyError(name)
        return namespace_labels([cast(Namespace, obj)]).get(name, {})

    def __iter__(self) -> Iterator[str]:
        return iter([str((o.get("metadata") or {}).get("name") or "") for o in self._informer.items()])

    def __len__(self) -> int:
        return len(self._informer.items())

    def sorted_labels(self, name: str) -> tuple[tuple[str, str], ...]:
        """The labels of ``name`` as the allocator keeps them (sorted pairs)."""
        labels = self.get(name)
        return tuple(sorted((labels or {NAMESPACE_NAME_LABEL: name}).items()))
