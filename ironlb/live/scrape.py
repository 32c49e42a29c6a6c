"""Asking the speakers directly: ``GET /metrics`` and ``/readyz`` on each, in parallel, briefly.

The one module of ``ironlb.live`` that does I/O (plain HTTP with urllib, like a Prometheus
scrape): ``ironlb status`` reads what each speaker publishes about itself. A speaker that
does not answer within ``timeout`` (a node whose address this machine cannot reach, a
firewall, no speaker there) is reported as such, never guessed.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ironlb.live.metrics import NotSpeakerMetrics, SpeakerMetrics, parse_speaker_metrics


@dataclass(frozen=True)
class Scrape:
    url: str
    """The speaker's base URL (``http://ADDRESS:PORT``)."""
    metrics: SpeakerMetrics | None = None
    ready: bool | None = None
    """``/readyz`` answered 200 (True) or 503 (False); None when it did not answer."""
    not_ready: str = ""
    """What ``/readyz`` said when not ready."""
    error: str = ""
    """Why nothing could be read (empty when the metrics were read)."""


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Straight to the node: a proxy from the environment would not reach node addresses."""


def _get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with _DIRECT.open(url, timeout=timeout) as resp:
            return int(resp.status), resp.read(4 << 20).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(4096).decode("utf-8", "replace")


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc) or type(exc).__name__
    return "no answer (timed out)" if "timed out" in text else text


def scrape_one(base: str, timeout: float) -> Scrape:
    try:
        code, body = _get(f"{base}/metrics", timeout)
    except (OSError, ValueError) as exc:
        return Scrape(base, error=_reason(exc))
    if code != 200:
        return Scrape(base, error=f"/metrics answered HTTP {code}")
    try:
        metrics = parse_speaker_metrics(body)
    except NotSpeakerMetrics as exc:
        return Scrape(base, error=f"not a speaker: {exc}")
    try:
        code, body = _get(f"{base}/readyz", timeout)
    except (OSError, ValueError) as exc:
        return Scrape(base, metrics=metrics, error=f"/readyz: {_reason(exc)}")
    if code in (200, 503):
        return Scrape(base, metrics=metrics, ready=code == 200, not_ready="" if code == 200 else body.strip())
    return Scrape(base, metrics=metrics, error=f"/readyz answered HTTP {code}")


def scrape_all(urls: Mapping[str, str], timeout: float = 1.5) -> dict[str, Scrape]:
    """Per node, what its speaker at ``urls[node]`` answered."""
    if not urls:
        return {}
    with ThreadPoolExecutor(min(16, len(urls))) as pool:
        futures = {node: pool.submit(scrape_one, url, timeout) for node, url in urls.items()}
        return {node: f.result() for node, f in futures.items()}


def _url(address: str, port: int) -> str:
    return f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}"


def _pod_ips(pods: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each node's speaker Pod IP (by the Pod's ``spec.nodeName``)."""
    return {
        str((p.get("spec") or {}).get("nodeName") or ""): str((p.get("status") or {}).get("podIP") or "")
        for p in pods
    }


def _node_address(node: Mapping[str, Any]) -> str:
    """The Node's first InternalIP, else its first ExternalIP ("" when it shows neither)."""
    addresses = (node.get("status") or {}).get("addresses") or []
    ordered = [a.get("address") for a in addresses if a.get("type") == "InternalIP"]
    ordered += [a.get("address") for a in addresses if a.get("type") == "ExternalIP"]
    return next((a for a in ordered if isinstance(a, str) and a), "")


def _explicit_url(url: str) -> str:
    """``--speaker NODE=URL`` as a base URL: without a trailing ``/`` or ``/metrics``."""
    return url.rstrip("/").removesuffix("/metrics")


def speaker_urls(
    nodes: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    port: int,
    explicit: Mapping[str, str],
) -> dict[str, str]:
    """Where each node's speaker serves ``/metrics``: ``explicit`` (``--speaker NODE=URL``), else its
    Pod's IP (``hostNetwork``: the node's), else the Node's first InternalIP (then ExternalIP)."""
    pod_ips = _pod_ips(pods)
    out: dict[str, str] = {}
    for node in nodes:
        name = str((node.get("metadata") or {}).get("name") or "")
        if not name:
            continue
        if name in explicit:
            out[name] = _explicit_url(explicit[name])
            continue
        address = pod_ips.get(name) or _node_address(node)
        if address:
            out[name] = _url(address, port)
    return out
