"""``python -m ironlb.lab.nodeagent --node NODE --manifests DIR``: a lab node's service plane.

Why: in a lab there is no kube-proxy and no pod, yet a client's connection to a
LoadBalancer IP or a ClusterIP must be answered by the node the router (BGP) or
the switch (layer 2) sent it to. This agent stands in for both on one node, the
way kube-proxy's IPVS mode does it: every Service IP this node serves is put on
``lo`` (so the kernel accepts it; with ``arp_ignore=1`` it does not answer ARP
for it, leaving that to the speaker), and a tiny HTTP server, the test backend,
listens on each Service IP and TCP port and answers with the node's name --
which is how tests and the demo see that connections spread over nodes.

A Service is served here while it has a ready endpoint (EndpointSlices): on this
node for traffic policy ``Local``, anywhere for ``Cluster``; the LoadBalancer and
external IPs follow ``externalTrafficPolicy``, the ClusterIPs
``internalTrafficPolicy``. ``served`` is the pure decision; the rest is a thin
adapter (pyroute2 for addresses, ``http.server`` for the backend). Hand-written
because it only exists for the lab: a real cluster has kube-proxy and pods.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute, NetlinkError
from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD

from ironlb.announce.inputs import endpoints_by_service, service_info
from ironlb.cluster.manifests import ManifestSource
from ironlb.cluster.seam import ClusterSnapshot, ClusterSourceUnavailable
from ironlb.config.model import IPAddress
from ironlb.stopping import stop_on_signals

log = logging.getLogger(__name__)

Listener = tuple[IPAddress, int]


def served(node: str, snapshot: ClusterSnapshot) -> dict[Listener, str]:
    """(IP, TCP port) -> Service key, for every Service IP this node answers."""
    endpoints = endpoints_by_service(snapshot.endpoint_slices)
    out: dict[Listener, str] = {}
    for service in sorted(snapshot.services, key=lambda s: str((s.get("metadata") or {}).get("name"))):
        info = service_info(service)
        if info is None:
            continue
        eps = endpoints.get(info.key)
        here = eps is not None and eps.ready_by_node.get(node, 0) > 0
        anywhere = eps is not None and eps.ready_total > 0
        ports = sorted(
            int(p["port"])
            for p in (service.get("spec") or {}).get("ports") or []
            if isinstance(p, dict) and p.get("protocol", "TCP") == "TCP" and isinstance(p.get("port"), int)
        )
        external_ok = here if info.etp == "Local" else anywhere
        internal_ok = here if info.itp == "Local" else anywhere
        ips = [
            *((*info.ips, *info.external_ips) if external_ok else ()),
            *(info.cluster_ips if internal_ok else ()),
        ]
        for ip in ips:
            for port in ports:
                out.setdefault((ip, port), info.key)
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listener: Listener, node: str, service: str) -> None:
        self.address_family = socket.AF_INET6 if listener[0].version == 6 else socket.AF_INET
        self.node = node
        self.service = service
        super().__init__((str(listener[0]), listener[1]), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        body = f"{self.server.node}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Ironlb-Node", self.server.node)
        self.send_header("X-Ironlb-Service", self.server.service)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the agent's log


class NodeAgent:
    def __init__(self, node: str, source: ManifestSource) -> None:
        self.node = node
        self.source = source
        self.ipr = IPRoute()
        self.lo = self.ipr.link_lookup(ifname="lo")[0]
        self.addresses: set[IPAddress] = set()
        self.servers: dict[Listener, _Server] = {}
        self.revision: str | None = None
        self.failed: set[Listener] = set()  # could not listen yet: retried at every step

    def step(self) -> None:
        snapshot = self.source.snapshot()
        if snapshot.revision == self.revision and not self.failed:
            return
        self.revision = None  # until applied in full: an exception half-way means "again next step"
        self.apply(served(self.node, snapshot))
        self.revision = snapshot.revision

    def apply(self, wanted: Mapping[Listener, str]) -> None:
        for listener in sorted(set(self.servers) - set(wanted), key=str):
            self._close(listener)
        ips = {ip for ip, _ in wanted}
        for ip in sorted(ips - self.addresses, key=str):
            self.address("add", ip)
        self.failed &= set(wanted)
        for listener, key in sorted(wanted.items(), key=str):
            if listener not in self.servers:
                try:
                    server = _Server(listener, self.node, key)
                except OSError as exc:
                    if listener not in self.failed:
                        ip, port = listener
                        log.warning("cannot listen on %s port %d (retrying): %s", ip, port, exc)
                    self.failed.add(listener)
                    continue
                self.failed.discard(listener)
                threading.Thread(target=server.serve_forever, name=f"http-{listener}", daemon=True).start()
                self.servers[listener] = server
                log.info("serving %s on %s port %d", key, listener[0], listener[1])
        for ip in sorted(self.addresses - ips, key=str):
            self.address("del", ip)

    def _close(self, listener: Listener) -> None:
        server = self.servers.pop(listener)
        server.shutdown()
        server.server_close()
        log.info("stopped serving %s port %d", listener[0], listener[1])

    def address(self, op: str, ip: IPAddress) -> None:
        """Add or remove a Service IP on lo (a /32 or /128), usable for bind() as soon as this returns."""
        # An IPv6 address starts out tentative, even on lo, until the kernel's DAD work has run;
        # a bind() in that window fails with EADDRNOTAVAIL (10 in 300 adds here). NODAD skips it.
        flags = {"flags": IFA_F_NODAD} if op == "add" and ip.version == 6 else {}
        try:
            self.ipr.addr(op, index=self.lo, address=str(ip), prefixlen=ip.max_prefixlen, **flags)
        except NetlinkError as exc:  # EEXIST / EADDRNOTAVAIL after changes made by hand
            log.warning("%s %s on lo: %s", op, ip, exc)
        if op == "add":
            self.addresses.add(ip)
        else:
            self.addresses.discard(ip)

    def close(self) -> None:
        self.apply({})
        self.ipr.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ironlb.lab.nodeagent", description=__doc__.split("\n")[0])
    p.add_argument("--node", required=True)
    p.add_argument("--manifests", required=True, type=Path)
    p.add_argument("--poll-interval", type=float, default=0.1)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = stop_on_signals()
    agent = NodeAgent(args.node, ManifestSource([args.manifests]))
    try:
        while not stop.is_set():
            try:
                agent.step()
            except ClusterSourceUnavailable as exc:
                log.warning("manifests unreadable, keeping the current state: %s", exc)
            except Exception:  # a lab stand-in must outlive any one bad step: log it, try again
                log.exception("could not apply the cluster state; retrying")
            stop.wait(args.poll_interval)
    finally:
        agent.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
