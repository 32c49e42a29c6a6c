"""PATCH bodies of the three kinds the real client sends.

JSON Patch uses the ``jsonpatch`` library. Merge patch (RFC 7386) is a few lines.
Strategic merge patch is approximated: a merge patch whose lists are replaced, except
for the handful of list fields our components touch that the real server merges by a
key (Service ports by ``port``, finalizers as a set, conditions by ``type``).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from tests.support.kubeapi.errors import ApiError, bad_request

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# (path of the list) -> merge key; "" means a list of scalars merged as a set.
_STRATEGIC_LIST_KEYS: dict[tuple[str, ...], str] = {
    ("spec", "ports"): "port",
    ("metadata", "finalizers"): "",
    ("status", "conditions"): "type",
}


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _strategic(target: Any, patch: Any, path: tuple[str, ...]) -> Any:
    if isinstance(patch, dict):
        patch = {k: v for k, v in patch.items() if not k.startswith("$")}
        result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = _strategic(result.get(key), value, (*path, key))
        return result
    if isinstance(patch, list) and path in _STRATEGIC_LIST_KEYS and isinstance(target, list):
        key = _STRATEGIC_LIST_KEYS[path]
        if key == "":
            merged = list(target)
            merged.extend(v for v in patch if v not in merged)
            return merged
        out = [copy.deepcopy(v) for v in target]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                raise bad_request(f"strategic merge patch: list item at {'.'.join(path)} lacks key {key}")
            for i, old in enumerate(out):
                if isinstance(old, dict) and old.get(key) == item[key]:
                    out[i] = _strategic(old, item, path)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def apply_patch(content_type: str, target: dict[str, Any], body: Any) -> dict[str, Any]:
    ctype = content_type.split(";")[0].strip()
    if ctype == JSON_PATCH:
        if not isinstance(body, list):
            raise bad_request("json patch body must be a list of operations")
        try:
            result = jsonpatch.apply_patch(target, body)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise ApiError(422, "Invalid", f"the server rejected our request due to an error: {exc}") from exc
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ApiError(422, "Invalid", f"the server rejected our request due to an error: {exc}") from exc
        if not isinstance(result, dict):
            raise bad_request("json patch produced a non-object")
        return result
    if not isinstance(body, dict):
        raise bad_request(f"{ctype} body must be a JSON object")
    if ctype == MERGE:
        result = merge_patch(target, body)
    elif ctype == STRATEGIC:
        result = _strategic(target, body, ())
    else:
        raise ApiError(
            415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {ctype}"
        )
    assert isinstance(result, dict)
    return result
