"""Raw YAML tree → wire models, with every shape error named by its path.

pydantic reports all structural errors of a document at once; this module turns
them into ``"path: message"`` lines a user can act on (``unknown field 'peer-asm';
did you mean 'peer-asn'?``). So that one broken item does not hide the semantic
errors of its siblings, list sections are also decoded item by item when the
whole document fails: the items that decode are still converted and checked.
"""

from __future__ import annotations

import contextlib
import difflib
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ironlb.config.errors import Problems, join_path
from ironlb.config.wire import (
    WireAddressPool,
    WireBfdProfile,
    WireClusterIPAdvertisement,
    WireConfig,
    WireL2,
    WirePeer,
)
from ironlb.config.yamlload import PlainScalar


@dataclass
class Decoded:
    """The parts of a document that decoded, each with its index in the document."""

    peers: list[tuple[int, WirePeer]] = field(default_factory=list)
    pools: list[tuple[int, WireAddressPool]] = field(default_factory=list)
    bfd_profiles: list[tuple[int, WireBfdProfile]] = field(default_factory=list)
    bgp_communities: dict[str, str] = field(default_factory=dict)
    cluster_ip_advertisement: WireClusterIPAdvertisement | None = None
    l2: WireL2 | None = None
    salvaged: set[tuple[str, int]] = field(default_factory=set)
    """List items decoded only after dropping bad fields: kept out of duplicate checks."""
    names_seen: dict[str, set[str]] = field(default_factory=dict)
    """Names present in the raw document per section (even in items that failed to decode)."""


def describe(value: Any) -> str:
    """How a YAML value reads in an error message."""
    if isinstance(value, PlainScalar):
        kind = {bool: "boolean", int: "integer", float: "number"}.get(type(value.value), "value")
        return f"{kind} {str.__str__(value)}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def unknown_field(key: str, model: type[BaseModel] | None) -> str:
    """``unknown field 'x'``, with the closest allowed name of ``model`` or else every allowed one."""
    allowed = [info.alias or name for name, info in model.model_fields.items()] if model else []
    hint = difflib.get_close_matches(key, allowed, n=1)
    if hint:
        return f"unknown field {key!r}; did you mean {hint[0]!r}?"
    return f"unknown field {key!r} (allowed: {', '.join(allowed)})" if allowed else f"unknown field {key!r}"


def model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model under ``root`` that holds the field at the end of pydantic's ``loc`` (for "did you mean")."""
    model = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        found = next(
            (info.annotation for name, info in model.model_fields.items() if part in (info.alias, name)), None
        )
        nested = first_model(found)
        if nested is None:
            return None
        model = nested
    return model


def first_model(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model in a type annotation (``list[X] | None`` -> ``X``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = first_model(arg)
        if found is not None:
            return found
    return None


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return unknown_field(str(err["loc"][-1]), model_at(WireConfig, err["loc"]))
    return type_mismatch(kind, err.get("input")) or str(err["msg"])


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def type_mismatch(kind: str, value: Any) -> str | None:
    """``expected a list, got a string ('x')`` for pydantic's type errors; None for other kinds."""
    expected = _EXPECTED.get(kind)
    return f"expected {expected}, got {describe(value)}" if expected else None


def _path(loc: tuple[int | str, ...], kind: str) -> str:
    parts: list[str | int] = []
    for i, part in enumerate(loc):
        if part == "[key]":
            continue  # the key itself is the previous element
        if kind == "extra_forbidden" and i == len(loc) - 1:
            parts.append(str(part))
        else:
            parts.append(part)
    return join_path("", *parts)


def report(exc: ValidationError, problems: Problems, prefix: tuple[int | str, ...] = ()) -> None:
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        problems.error(_path(loc, err["type"]), _message(err))


def _names(items: Any) -> set[str]:
    if not isinstance(items, list):
        return set()
    return {str(i["name"]) for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)}


def decode(raw: Any, problems: Problems) -> Decoded:
    """Decode the raw document (a mapping, or ``None`` for an empty one)."""
    if raw is None:
        return Decoded()
    if not isinstance(raw, dict):
        problems.error("", f"expected a mapping of config sections, got {describe(raw)}")
        return Decoded()
    out = Decoded()
    out.names_seen = {
        "bfd-profiles": _names(raw.get("bfd-profiles")),
        "bgp-communities": {str(k) for k in _mapping(raw.get("bgp-communities"))},
    }
    try:
        whole = WireConfig.model_validate(raw)
    except ValidationError as exc:
        report(exc, problems)
        _salvage(_without_bad_fields(raw, exc, problems, out.salvaged), out)
        return out
    out.peers = list(enumerate(whole.peers or ()))
    out.pools = list(enumerate(whole.address_pools or ()))
    out.bfd_profiles = list(enumerate(whole.bfd_profiles or ()))
    out.bgp_communities = dict(whole.bgp_communities or {})
    out.cluster_ip_advertisement = whole.cluster_ip_advertisement
    out.l2 = whole.l2
    return out


_MAPPING_SECTIONS = ("bgp-communities", "cluster-ip-advertisement", "l2")


def _without_bad_fields(
    raw: dict[Any, Any], exc: ValidationError, problems: Problems, salvaged: set[tuple[str, int]]
) -> dict[Any, Any]:
    """A copy of ``raw`` without the fields that failed to decode; later errors below them are muted.

    The rest of each item is still converted, so its semantic errors are reported
    in the same run (a bad ``peer-port`` does not hide a bad ``peer-address``).
    """
    cleaned: dict[Any, Any] = dict(raw)
    copied: set[int] = set()

    def own(container: Any) -> Any:
        # Copy each container once before changing it; the caller's document stays untouched.
        if id(container) in copied:
            return container
        new = dict(container) if isinstance(container, dict) else list(container)
        copied.add(id(new))
        return new

    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        section = loc[0]
        if section in LIST_KEYS and len(loc) >= 3 and isinstance(loc[1], int):
            items = cleaned[section] = own(cleaned[section])
            item = items[loc[1]] = own(items[loc[1]])
            item.pop(loc[2], None)
            salvaged.add((str(section), loc[1]))
            problems.suppress(join_path("", str(section), loc[1], str(loc[2])))
        elif section in _MAPPING_SECTIONS and len(loc) >= 2 and isinstance(cleaned.get(section), dict):
            mapping = cleaned[section] = own(cleaned[section])
            mapping.pop(loc[1], None)
            problems.suppress(join_path("", str(section), str(loc[1])))
        elif section in LIST_KEYS and len(loc) >= 2 and isinstance(loc[1], int):
            problems.suppress(join_path("", str(section), loc[1]))  # the item is unusable; _salvage drops it
        else:
            cleaned.pop(section, None)
            problems.suppress(join_path("", str(section)))
    return cleaned


LIST_KEYS = ("peers", "address-pools", "bfd-profiles")


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _salvage(raw: dict[Any, Any], out: Decoded) -> None:
    """Decode what can be decoded on its own, so its semantic errors are reported too."""

    def items(key: str, model: type[BaseModel]) -> list[tuple[int, Any]]:
        value = raw.get(key)
        good: list[tuple[int, Any]] = []
        if isinstance(value, list):
            for i, item in enumerate(value):
                with contextlib.suppress(ValidationError):
                    good.append((i, model.model_validate(item)))
        return good

    out.peers = items("peers", WirePeer)
    out.pools = items("address-pools", WireAddressPool)
    out.bfd_profiles = items("bfd-profiles", WireBfdProfile)
    with contextlib.suppress(ValidationError):
        section = WireConfig.model_validate({"bgp-communities": raw.get("bgp-communities")})
        out.bgp_communities = dict(section.bgp_communities or {})
    with contextlib.suppress(ValidationError):
        cip = {"cluster-ip-advertisement": raw.get("cluster-ip-advertisement")}
        out.cluster_ip_advertisement = WireConfig.model_validate(cip).cluster_ip_advertisement
    with contextlib.suppress(ValidationError):
        out.l2 = WireConfig.model_validate({"l2": raw.get("l2")}).l2
