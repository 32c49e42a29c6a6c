"""The building blocks of the CRD schemas: bounds, patterns, typed fields and CEL rules.

Every kind's spec (:mod:`ironlb.config.resources.kindspecs`) is put together from these, so a
label selector, a community or a refused MetalLB field reads the same in every CRD.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# ---- bounds (the CEL cost estimate multiplies them) --------------------------------------------

MAX_NAME = 253
MAX_ITEMS = 64
MAX_ADDRESSES = 256
MAX_LABEL_KEY = 317  # a DNS subdomain prefix (253), '/', a name (63)
MAX_SELECTORS = 8
MAX_EXPRESSIONS = 16
MAX_VALUES = 32
"""Regular expressions must not need a backslash: CEL string literals do not take regex escapes."""

_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_KEY = rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_LABEL_NAME}$"
LABEL_VALUE = rf"^({_LABEL_NAME})?$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DURATION = r"^(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
"""Go's ``time.ParseDuration`` without a sign (``90s``, ``1m30s``, ``0``)."""
INTERFACE = r"^[^[:space:]/]+$"
_U16 = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5]?[0-9]{1,4})"
_U32 = (
    r"(429496729[0-5]|42949672[0-8][0-9]|4294967[01][0-9]{2}|429496[0-6][0-9]{3}|42949[0-5][0-9]{4}"
    r"|4294[0-8][0-9]{5}|429[0-3][0-9]{6}|42[0-8][0-9]{7}|4[01][0-9]{8}|[1-3]?[0-9]{1,9})"
)
COMMUNITY_LITERAL = rf"^({_U16}:{_U16}|(large:)?{_U32}:{_U32}:{_U32})$"
"""``A:B`` (16-bit halves) or ``A:B:C`` / ``large:A:B:C`` (32-bit parts)."""
WELL_KNOWN = ("no-export", "no-advertise", "no-export-subconfed", "local-as", "no-peer", "nopeer")

COMMUNITY_MESSAGE = (
    "must be a community A:B (16-bit halves), a large community A:B:C or large:A:B:C (32-bit parts), "
    "a well-known name (no-export, no-advertise, ...) or the name of a Community alias (no ':')"
)
DURATION_MESSAGE = "must be a duration such as 90s or 1m30s"


def cel(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    out = {"rule": rule, "message": message}
    if field_path is not None:
        out["fieldPath"] = field_path
    return out


# ---- building blocks ---------------------------------------------------------------------------


def string(
    description: str, *, max_length: int = MAX_NAME, rules: list[dict[str, str]] | None = None
) -> Schema:
    out: Schema = {"description": description, "type": "string", "maxLength": max_length}
    if rules:
        out["x-kubernetes-validations"] = rules
    return out


def integer(description: str, low: int, high: int, default: int | None = None) -> Schema:
    out: Schema = {"description": description, "type": "integer", "format": "int64"}
    if default is not None:
        out["default"] = default
    out.update({"minimum": low, "maximum": high})
    return out


def boolean(description: str, default: bool | None = None) -> Schema:
    out: Schema = {"description": description, "type": "boolean"}
    if default is not None:
        out["default"] = default
    return out


def array(
    description: str,
    items: Schema,
    *,
    max_items: int = MAX_ITEMS,
    min_items: int | None = None,
    list_type: str | None = None,
) -> Schema:
    out: Schema = {"description": description, "type": "array", "items": items}
    if min_items is not None:
        out["minItems"] = min_items
    out["maxItems"] = max_items
    if list_type is not None:
        out["x-kubernetes-list-type"] = list_type
    return out


def obj(description: str, properties: dict[str, Schema], *, required: list[str] | None = None) -> Schema:
    out: Schema = {"description": description, "type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def names(description: str, what: str) -> Schema:
    """A list of object names (pools, peers), each once."""
    item = string(f"The name of {what}.")
    item["minLength"] = 1
    return array(description, item, list_type="set")


def label_selector(description: str) -> Schema:
    """``metav1.LabelSelector``: matchLabels AND matchExpressions; empty selects everything."""
    requirement = obj(
        "A label requirement: a key, an operator and values.",
        {
            "key": string(
                "The label key.",
                max_length=MAX_LABEL_KEY,
                rules=[cel(f"self.matches('{LABEL_KEY}')", "must be a label key: [prefix/]name")],
            ),
            "operator": {
                "description": "In, NotIn, Exists or DoesNotExist.",
                "type": "string",
                "enum": ["In", "NotIn", "Exists", "DoesNotExist"],
            },
            "values": array(
                "The values (In, NotIn: at least one; Exists, DoesNotExist: none).",
                string(
                    "A label value.",
                    max_length=63,
                    rules=[cel(f"self.matches('{LABEL_VALUE}')", "must be a label value")],
                ),
                max_items=MAX_VALUES,
                list_type="atomic",
            ),
        },
        required=["key", "operator"],
    )
    requirement["x-kubernetes-validations"] = [
        cel(
            "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 "
            ": !has(self.values) || size(self.values) == 0",
            "operators In and NotIn need at least one value; Exists and DoesNotExist take none",
            ".values",
        )
    ]
    labels: Schema = {
        "description": "Labels that must all be present with these values.",
        "type": "object",
        "maxProperties": MAX_VALUES,
        "additionalProperties": {"type": "string", "maxLength": 63},
        "x-kubernetes-validations": [
            cel(f"self.all(k, k.matches('{LABEL_KEY}'))", "every key must be a label key: [prefix/]name"),
            cel(f"self.all(k, self[k].matches('{LABEL_VALUE}'))", "every value must be a label value"),
        ],
    }
    selector = obj(
        "A label selector: every label and every expression must match; an empty one matches everything.",
        {
            "matchLabels": labels,
            "matchExpressions": array(
                "Requirements that must all hold.", requirement, max_items=MAX_EXPRESSIONS, list_type="atomic"
            ),
        },
    )
    selector["x-kubernetes-map-type"] = "atomic"
    return array(description, selector, max_items=MAX_SELECTORS, list_type="atomic")


def communities(description: str) -> Schema:
    item = string(
        "A community, or the name of a Community alias.",
        max_length=64,
        rules=[
            cel(
                f"!self.contains(':') ? size(self) > 0 : self.matches('{COMMUNITY_LITERAL}')",
                COMMUNITY_MESSAGE,
            )
        ],
    )
    return array(description, item, list_type="set")


def refused(description: str, schema: Schema) -> Schema:
    """A MetalLB field ironlb cannot honour: kept in the schema (so that it is refused with a reason, not
    pruned in silence); the rule that refuses it sits on the object that holds it."""
    out = dict(schema)
    out["description"] = description
    return out


def localpref() -> Schema:
    return integer("The BGP LOCAL_PREF attribute of the routes (iBGP peers only).", 0, 2**32 - 1)


def node_selectors(what: str) -> Schema:
    return label_selector(f"{what} only from the nodes that match one of these selectors (none: every node).")


def pool_selection() -> dict[str, Schema]:
    return {
        "ipAddressPools": names(
            "The IPAddressPools announced, by name (with ipAddressPoolSelectors: either may select a pool; "
            "neither: every pool).",
            "an IPAddressPool",
        ),
        "ipAddressPoolSelectors": label_selector("The IPAddressPools announced, by their labels."),
    }


SERVICE_SELECTORS_RULE = cel(
    "!has(self.serviceSelectors) || size(self.serviceSelectors) == 0",
    "serviceSelectors is not supported by ironlb: an advertisement announces every Service of its pools; "
    "choose which Services get a pool's addresses with the IPAddressPool's serviceAllocation",
    ".serviceSelectors",
)


def service_selectors() -> Schema:
    return refused(
        "MetalLB's per-advertisement Service selection; not supported by ironlb (refused when not empty).",
        label_selector("Services."),
    )
