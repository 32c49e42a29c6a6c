"""Names shared by the status kinds: API group and version, kinds, labels, object names.

Object names are deterministic, so a restarted speaker finds (by name, as well as by label) the
objects it wrote before instead of adding duplicates. ``<service>.<node>`` is injective because
a Service name (a DNS-1035 label) has no dot; names longer than a DNS subdomain allows (253) are
shortened with a hash of the node name. Label values longer than 63 characters (node names may
be up to 253) are shortened the same way, so a label selector finds them all the same.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final, Literal

GROUP: Final = "ironlb.io"
VERSION: Final = "v1beta1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

SERVICE_L2_STATUS: Final = "ServiceL2Status"
SERVICE_BGP_STATUS: Final = "ServiceBGPStatus"
CONFIGURATION_STATE: Final = "ConfigurationState"
StatusKind = Literal["ServiceL2Status", "ServiceBGPStatus"]

NODE_LABEL: Final = "ironlb.io/node"
SERVICE_NAME_LABEL: Final = "ironlb.io/service-name"
SERVICE_NAMESPACE_LABEL: Final = "ironlb.io/service-namespace"
COMPONENT_LABEL: Final = "ironlb.io/component"

MAX_NAME: Final = 253
MAX_LABEL_VALUE: Final = 63
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def label_value(text: str) -> str:
    """``text`` as a label value: itself when valid, else a prefix and a hash of the whole."""
    if len(text) <= MAX_LABEL_VALUE and _LABEL_VALUE.fullmatch(text):
        return text
    head = re.sub(r"[^-A-Za-z0-9_.]", "-", text)[: MAX_LABEL_VALUE - 17].strip("-_.")
    return f"{head}-{_digest(text, 16)}" if head else _digest(text, 16)


def status_object_name(service_name: str, node: str) -> str:
    """The name of the status object of ``service_name`` on ``node`` (in the Service's namespace)."""
    name = f"{service_name}.{node}"
    if len(name) <= MAX_NAME:
        return name
    keep = MAX_NAME - len(service_name) - 1 - 17
    return f"{service_name}.{node[:keep].rstrip('.-')}-{_digest(node, 16)}"


def configuration_state_name(component: str, node: str | None = None) -> str:
    """``controller``, or ``speaker-<node>`` (shortened with a hash when too long)."""
    name = f"{component}-{node}" if node else component
    if len(name) <= MAX_NAME:
        return name
    return f"{name[: MAX_NAME - 17].rstrip('.-')}-{_digest(name, 16)}"
