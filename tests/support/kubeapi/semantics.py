"""Server-side behaviour of the kinds ironlb touches, as the real API server does it.

Defaulting, allocation (Service ClusterIPs and NodePorts), validation (422) and the
quirks listed in /work/shared/K8S-API.md: ``ipMode: VIP`` filled on status ingress
entries, Lease MicroTime fields that need microseconds and a zone, Events that must
name what they are about. Hooks are called by the store with its lock held.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import re
from typing import Any

from tests.support.kubeapi.errors import ApiError, invalid
from tests.support.kubeapi.resources import ResourceType

Obj = dict[str, Any]

_MICRO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUB = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

SERVICE_CIDR_V4 = ipaddress.ip_network("10.96.0.0/12")
SERVICE_CIDR_V6 = ipaddress.ip_network("fd00:10:96::/112")
NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767


def parse_micro_time(value: Any, path: str, errors: list[str]) -> str | None:
    """Validate a MicroTime like the real server (RFC3339 with exactly 6 fraction digits
    and a zone) and return it normalised to UTC ``...ffffffZ``."""
    if value is None:
        return None
    if not isinstance(value, str) or not _MICRO_RE.match(value):
        errors.append(f'{path}: Invalid value: "{value}": must be RFC3339 with microseconds and a zone')
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _validate_meta(rt: ResourceType, obj: Obj, errors: list[str]) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    pattern, limit = (_DNS1035, 63) if rt.plural in ("services", "namespaces") else (_DNS1123_SUB, 253)
    if not isinstance(name, str) or not pattern.match(name) or len(name) > limit:
        errors.append(f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 name is required')
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if values is None:
            continue
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            errors.append(f"metadata.{field}: Invalid value: must be a map of strings")


class Semantics:
    """Per-kind hooks plus the Service IP and NodePort allocators they need."""

    def __init__(self) -> None:
        self._cluster_ips: set[str] = set()
        self._node_ports: set[int] = set()
        self._next_v4 = 10
        self._next_v6 = 10
        self._next_port = NODE_PORT_MIN

    # -- allocation ---------------------------------------------------------
    def _alloc_ip(self, family: str, taken: set[str]) -> str:
        net = SERVICE_CIDR_V4 if family == "IPv4" else SERVICE_CIDR_V6
        size = min(net.num_addresses - 2, 1 << 20)
        for _ in range(size):
            if family == "IPv4":
                idx, self._next_v4 = self._next_v4, self._next_v4 % size + 2
            else:
                idx, self._next_v6 = self._next_v6, self._next_v6 % size + 2
            ip = str(net.network_address + idx)
            if ip not in self._cluster_ips and ip not in taken:
                return ip
        raise ApiError(500, "InternalError", "failed to allocate a serviceIP: range is full")

    def _alloc_port(self, taken: set[int]) -> int:
        span = NODE_PORT_MAX - NODE_PORT_MIN + 1
        for _ in range(span):
            port = self._next_port
            self._next_port = NODE_PORT_MIN + (port - NODE_PORT_MIN + 1) % span
            if port not in self._node_ports and port not in taken:
                return port
        raise ApiError(422, "Invalid", "failed to allocate a nodePort: range is full")

    @staticmethod
    def _service_ips(obj: Obj | None) -> set[str]:
        if obj is None:
            return set()
        return {ip for ip in (obj.get("spec") or {}).get("clusterIPs") or [] if ip != "None"}

    @staticmethod
    def _service_ports(obj: Obj | None) -> set[int]:
        if obj is None:
            return set()
        spec = obj.get("spec") or {}
        ports = {p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort")}
        if spec.get("healthCheckNodePort"):
            ports.add(spec["healthCheckNodePort"])
        return ports

    def commit(self, rt: ResourceType, old: Obj | None, new: Obj | None) -> None:
        """Record what a successful write allocated or freed."""
        if rt.plural != "services" or rt.group:
            return
        self._cluster_ips -= self._service_ips(old)
        self._node_ports -= self._service_ports(old)
        self._cluster_ips |= self._service_ips(new)
        self._node_ports |= self._service_ports(new)

    # -- hooks ----------------------------------------------------------------
    def prepare(self, rt: ResourceType, old: Obj | None, new: Obj, subresource: str | None) -> None:
        """Default, allocate and validate ``new`` in place (``old`` is None on create)."""
        errors: list[str] = []
        _validate_meta(rt, new, errors)
        key = (rt.group, rt.plural)
        if key == ("", "services"):
            if subresource is None:
                self._service_spec(old, new, errors)
            self._service_status(new, errors)
        elif key == ("coordination.k8s.io", "leases"):
            self._lease(new, errors)
        elif key == ("", "events"):
            self._core_event(new, errors)
        elif key == ("events.k8s.io", "events"):
            self._events_v1(new, errors)
        elif key == ("", "secrets"):
            self._secret(new, errors)
        elif key == ("discovery.k8s.io", "endpointslices"):
            if new.get("addressType") not in ("IPv4", "IPv6", "FQDN"):
                errors.append("addressType: Unsupported value: must be IPv4, IPv6 or FQDN")
            new.setdefault("endpoints", [])
        if errors:
            raise invalid(rt.kind, (new.get("metadata") or {}).get("name", ""), errors)

    def _service_spec(self, old: Obj | None, new: Obj, errors: list[str]) -> None:
        spec = new.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        stype = spec.setdefault("type", "ClusterIP")
        if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            errors.append(f'spec.type: Unsupported value: "{stype}"')
            return
        spec.setdefault("sessionAffinity", "None")
        ports = spec.get("ports") or []
        if stype != "ExternalName" and not ports and spec.get("clusterIP") != "None":
            errors.append("spec.ports: Required value")
        for i, port in enumerate(ports):
            if not isinstance(port.get("port"), int) or not 1 <= port["port"] <= 65535:
                errors.append(f"spec.ports[{i}].port: Invalid value: must be between 1 and 65535")
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if len(ports) > 1 and not port.get("name"):
                errors.append(f"spec.ports[{i}].name: Required value")
        seen_ports: set[tuple[object, object]] = set()
        for i, port in enumerate(ports):
            ident = (port.get("port"), port.get("protocol"))
            if ident in seen_ports:
                errors.append(f"spec.ports[{i}]: Duplicate value: {ident}")
            seen_ports.add(ident)
        if stype == "ExternalName" and not spec.get("externalName"):
            errors.append("spec.externalName: Required value")
        if stype in ("NodePort", "LoadBalancer") and spec.get("clusterIP") == "None":
            errors.append(
                f"spec.clusterIP: Invalid value: \"None\": may not be set to 'None' for {stype} services"
            )
        if errors or stype == "ExternalName":
            return
        # Families and ClusterIPs (immutable once set).
        policy = spec.setdefault("ipFamilyPolicy", old_spec.get("ipFamilyPolicy", "SingleStack"))
        families = spec.get("ipFamilies") or old_spec.get("ipFamilies")
        if not families:
            families = ["IPv4", "IPv6"] if policy in ("PreferDualStack", "RequireDualStack") else ["IPv4"]
        spec["ipFamilies"] = families
        if old_spec.get("clusterIPs"):
            if spec.get("clusterIP") not in (None, old_spec.get("clusterIP")):
                errors.append("spec.clusterIP: Invalid value: field is immutable")
                return
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = old_spec["clusterIPs"]
        elif spec.get("clusterIP") == "None":
            spec["clusterIPs"] = ["None"]
        else:
            requested = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
            ips: list[str] = []
            for i, fam in enumerate(families):
                if i < len(requested):
                    try:
                        addr = ipaddress.ip_address(requested[i])
                    except ValueError:
                        errors.append(f'spec.clusterIPs[{i}]: Invalid value: "{requested[i]}"')
                        return
                    net = SERVICE_CIDR_V4 if fam == "IPv4" else SERVICE_CIDR_V6
                    if addr not in net:
                        errors.append(f'spec.clusterIPs[{i}]: Invalid value: "{addr}": not in range {net}')
                    elif str(addr) in self._cluster_ips:
                        errors.append(f'spec.clusterIPs[{i}]: Invalid value: "{addr}": already allocated')
                    ips.append(str(addr))
                else:
                    ips.append(self._alloc_ip(fam, set(ips)))
            spec["clusterIP"], spec["clusterIPs"] = ips[0], ips
        spec.setdefault("internalTrafficPolicy", "Cluster")
        # Type-dependent fields.
        if stype == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
            old_class = old_spec.get("loadBalancerClass") if old_spec.get("type") == "LoadBalancer" else None
            if old_class is not None and spec.get("loadBalancerClass") != old_class:
                errors.append("spec.loadBalancerClass: Invalid value: field is immutable")
        else:
            spec.pop("allocateLoadBalancerNodePorts", None)
            if spec.get("loadBalancerClass") is not None:
                if old_spec.get("loadBalancerClass") == spec["loadBalancerClass"]:
                    spec.pop("loadBalancerClass")
                else:
                    errors.append(
                        "spec.loadBalancerClass: Invalid value: may only be used with type LoadBalancer"
                    )
        if stype in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        else:
            spec.pop("externalTrafficPolicy", None)
        wants_ports = stype == "NodePort" or (
            stype == "LoadBalancer" and spec["allocateLoadBalancerNodePorts"]
        )
        old_ports = {
            (p.get("port"), p.get("protocol")): p.get("nodePort") for p in old_spec.get("ports") or []
        }
        own_old = self._service_ports(old)
        taken: set[int] = set()
        for i, port in enumerate(ports):
            if not wants_ports:
                if port.get("nodePort") and port["nodePort"] == old_ports.get(
                    (port["port"], port["protocol"])
                ):
                    port.pop("nodePort")
                continue
            np = port.get("nodePort") or old_ports.get((port["port"], port["protocol"]))
            if np:
                if not NODE_PORT_MIN <= np <= NODE_PORT_MAX:
                    errors.append(f"spec.ports[{i}].nodePort: Invalid value: {np}: out of range")
                elif (np in self._node_ports and np not in own_old) or np in taken:
                    errors.append(f"spec.ports[{i}].nodePort: Invalid value: {np}: already allocated")
            else:
                np = self._alloc_port(taken | own_old)
            port["nodePort"] = np
            taken.add(np)
        if stype == "LoadBalancer" and spec["externalTrafficPolicy"] == "Local":
            if not spec.get("healthCheckNodePort"):
                spec["healthCheckNodePort"] = old_spec.get("healthCheckNodePort") or self._alloc_port(taken)
        else:
            spec.pop("healthCheckNodePort", None)

    @staticmethod
    def _service_status(new: Obj, errors: list[str]) -> None:
        status = new.setdefault("status", {})
        lb = status.setdefault("loadBalancer", {})
        for i, ing in enumerate(lb.get("ingress") or []):
            ip = ing.get("ip")
            if ip is not None:
                try:
                    ipaddress.ip_address(ip)
                except ValueError:
                    errors.append(
                        f'status.loadBalancer.ingress[{i}].ip: Invalid value: "{ip}": must be a valid IP'
                    )
                ing.setdefault("ipMode", "VIP")
            if "ipMode" in ing:
                if ing["ipMode"] not in ("VIP", "Proxy"):
                    errors.append(
                        f'status.loadBalancer.ingress[{i}].ipMode: Unsupported value: "{ing["ipMode"]}"'
                    )
                if ip is None:
                    errors.append(
                        f"status.loadBalancer.ingress[{i}].ipMode: Forbidden: may only be set with ip"
                    )

    @staticmethod
    def _lease(new: Obj, errors: list[str]) -> None:
        spec = new.setdefault("spec", {})
        for field in ("acquireTime", "renewTime"):
            if field in spec:
                norm = parse_micro_time(spec[field], f"spec.{field}", errors)
                if norm is not None:
                    spec[field] = norm
        dur = spec.get("leaseDurationSeconds")
        if dur is not None and (not isinstance(dur, int) or dur <= 0):
            errors.append(f"spec.leaseDurationSeconds: Invalid value: {dur}: must be greater than 0")

    @staticmethod
    def _core_event(new: Obj, errors: list[str]) -> None:
        inv = new.get("involvedObject")
        ns = (new.get("metadata") or {}).get("namespace")
        if not isinstance(inv, dict) or not inv.get("kind"):
            errors.append("involvedObject: Required value")
        elif inv.get("namespace") and inv["namespace"] != ns:
            errors.append(
                f'involvedObject.namespace: Invalid value: "{inv["namespace"]}": '
                "does not match event.namespace"
            )
        if new.get("type") not in (None, "Normal", "Warning"):
            errors.append(f'type: Unsupported value: "{new["type"]}"')
        if "eventTime" in new:
            norm = parse_micro_time(new["eventTime"], "eventTime", errors)
            if norm is not None:
                new["eventTime"] = norm

    @staticmethod
    def _events_v1(new: Obj, errors: list[str]) -> None:
        norm = parse_micro_time(new.get("eventTime"), "eventTime", errors)
        if new.get("eventTime") is None:
            errors.append("eventTime: Required value")
        elif norm is not None:
            new["eventTime"] = norm
        for field in ("reportingController", "reportingInstance", "action", "reason", "regarding"):
            if not new.get(field):
                errors.append(f"{field}: Required value")
        if new.get("type") not in ("Normal", "Warning"):
            errors.append(f'type: Unsupported value: "{new.get("type")}"')

    @staticmethod
    def _secret(new: Obj, errors: list[str]) -> None:
        data = new.get("data") or {}
        for key, value in data.items():
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, TypeError):
                errors.append(f"data[{key}]: Invalid value: not base64")
        for key, value in (new.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if data:
            new["data"] = data
        new.setdefault("type", "Opaque")
