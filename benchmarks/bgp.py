"""BGP benchmark: Service change → route in the router's FIB, 10,000 LoadBalancer IPs, speaker cost.

Runs the ``bgp-ecmp`` lab (FRR router, network namespaces; root) and, on node1,
the real BGP backend (``speaker.bgp.backend.BgpAnnouncer``: route decision, ExaBGP
driver, ExaBGP child) fed with ``AnnounceInputs`` through stdin, so that the
figures measure the BGP path and not the manifest-file source. The router's
kernel FIB is watched with ``ip monitor route``; times are from handing the new
state to the backend to the kernel route event on the router.

Prints:
- change latency p50/p99 over N changes (half announcements, half withdrawals);
- time for 10,000 LoadBalancer IPs (one Service each) to be in the router's FIB,
  and the ratio to FRR loading the same 10,000 routes as static routes from its
  own config at start, in the same run: staticd started as the lab starts FRR
  daemons, then ``vtysh -b`` (FRR's own boot path for an integrated ``frr.conf``;
  see :func:`static_boot` for why not staticd's ``-f`` file); also the ratio to a
  running staticd applying the file with ``vtysh -f``;
- CPU time and peak RSS of the speaker side (backend process) and of ExaBGP while
  holding 10,000 Services, plus their CPU use over an idle window.

    python benchmarks/bgp.py [--changes 60] [--scale 10000] [--staticd-file 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.bgp_lab import router_peer

REPO = Path(__file__).resolve().parents[1]

CONFIG = f"""
peers:
{router_peer()}
address-pools:
- name: pub
  protocol: bgp
  addresses: [198.51.100.0/24, 100.64.0.0/16]
"""
LAT_BASE = ipaddress.ip_address("198.51.100.10")
SCALE_BASE = ipaddress.ip_address("100.64.0.1")


# ---------------------------------------------------------------- agent (inside node1's namespace)


async def agent_main(args: argparse.Namespace) -> None:
    from ironlb.announce.inputs import AnnounceInputs, Endpoints, NodeInfo, ServiceInfo
    from ironlb.config import parse_config
    from speaker.bgp.backend import BgpAnnouncer

    config = parse_config(CONFIG)
    me = NodeInfo(name=args.node, labels={}, addresses=(ipaddress.ip_address(args.address),))
    backend = BgpAnnouncer(
        Path(args.workdir), graceful_restart=0, batch=int(os.environ.get("BENCH_BATCH", "100"))
    )
    runner = asyncio.create_task(backend.run())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    eps = Endpoints(ready_by_node={args.node: 1}, ready_total=1)
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if "ips" in msg or "range" in msg:
            if "range" in msg:
                first = ipaddress.ip_address(msg["range"][0])
                wanted = [first + i for i in range(int(msg["range"][1]))]
            else:
                wanted = [ipaddress.ip_address(ip) for ip in msg["ips"]]
            services = tuple(ServiceInfo(key=f"default/s{ip}", ips=(ip,)) for ip in wanted)
            inputs = AnnounceInputs(
                node=args.node,
                config=config,
                services=services,
                nodes={args.node: me},
                endpoints={s.key: eps for s in services},
            )
            t0 = time.monotonic()
            await backend.apply(inputs)
            reply: dict[str, Any] = {"ok": True}
            if msg.get("wait_acked"):
                while len(backend.driver.acknowledged("172.30.0.1")) != len(services):
                    await asyncio.sleep(0.005)
                reply["acked_after"] = time.monotonic() - t0
        elif "stats" in msg:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            pid = backend.process.pid if backend.process else None
            reply = {"cpu": ru.ru_utime + ru.ru_stime, "maxrss_kib": ru.ru_maxrss, "exabgp": _proc_stats(pid)}
        else:
            break
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    await backend.shutdown(graceful=False)
    await runner


def _proc_stats(pid: int | None) -> dict[str, float]:
    if pid is None:
        return {}
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
    return {"cpu": cpu, "maxrss_kib": float(hwm.group(1)) if hwm else 0.0}


# ---------------------------------------------------------------- driver side (root namespace)


class RouteMonitor:
    """``ip monitor route`` in the router namespace: first time each prefix was added / deleted.

    The reader must keep up with zebra (10,000 routes land in ~0.1 s): when it
    falls behind, ``ip`` stops reading, its netlink socket overflows and events are
    lost. So waiting is on a counter of tracked prefixes kept by the reader, never
    on a predicate that scans 10,000 keys under the lock at every event; and the
    netlink buffer is large.
    """

    def __init__(self, namespace: str) -> None:
        self.proc = subprocess.Popen(
            ["ip", "-rcvbuf", str(64 << 20), "-n", namespace, "-4", "monitor", "route"],
            stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self.added: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.tracked: frozenset[str] = frozenset()
        self.present = 0  # how many of ``tracked`` are in ``added``
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.monotonic()
            if line.startswith(("\t", " ")):
                continue
            deleted = line.startswith("Deleted ")
            words = line.split()
            if len(words) < 2 or not words[int(deleted)][:1].isdigit():
                continue
            prefix = words[1] if deleted else words[0]
            prefix = prefix if "/" in prefix else prefix + "/32"
            with self.cond:
                was = prefix in self.added
                if deleted:
                    self.deleted.setdefault(prefix, now)
                    self.added.pop(prefix, None)
                else:
                    self.added.setdefault(prefix, now)
                    self.deleted.pop(prefix, None)
                if prefix in self.tracked and was != (prefix in self.added):
                    self.present += -1 if was else 1
                self.cond.notify_all()

    def track(self, keys: list[str]) -> None:
        """Count ``keys`` for :meth:`wait_present`."""
        with self.cond:
            self.tracked = frozenset(keys)
            self.present = sum(k in self.added for k in self.tracked)

    def wait_present(self, count: int, timeout: float) -> None:
        """Until exactly ``count`` of the tracked prefixes are in the FIB."""
        self.wait(lambda: self.present == count, timeout)

    def wait(self, pred: Any, timeout: float) -> None:
        with self.cond:
            if not self.cond.wait_for(pred, timeout):
                raise TimeoutError("route event not seen")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


class Agent:
    def __init__(self, namespace: str, node: str, address: str, workdir: Path) -> None:
        log = (workdir / f"agent-{node}.log").open("w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, __file__, "agent",
             "--node", node, "--address", address, "--workdir", str(workdir / f"bgp-{node}")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1, cwd=REPO,
        )  # fmt: skip

    def call(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        reply: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> None:
    from ironlb.lab.fixture import REPO_CONTAINERLAB, running_lab

    work = Path(tempfile.mkdtemp(prefix="ironlb-bench-bgp-"))
    try:
        shutil.copytree(REPO_CONTAINERLAB / "bgp-ecmp", work / "bgp-ecmp")
        with running_lab(work / "bgp-ecmp" / "bgp-ecmp.clab.yml", instance=f"bench-bgp-{os.getpid()}") as lab:
            monitor = RouteMonitor(lab.namespace("router"))
            agent = Agent(lab.namespace("node1"), "node1", "172.30.0.11", work)
            try:
                bench(args, lab, monitor, agent, work)
            finally:
                agent.close()
                monitor.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, lab: Any, monitor: RouteMonitor, agent: Agent, work: Path) -> None:
    agent.call({"ips": []})
    lab.wait_established(["172.30.0.11"], timeout=60)
    time.sleep(1.0)

    # 1) change latency: add one IP, then withdraw it, alternately.
    latencies: list[float] = []
    held: list[str] = []
    for i in range(args.changes):
        ip = str(LAT_BASE + i // 2)
        key = f"{ip}/32"
        if i % 2 == 0:
            held.append(ip)
            t0 = time.monotonic()
            agent.call({"ips": held})
            monitor.wait(lambda key=key: key in monitor.added, 10)
            latencies.append(monitor.added[key] - t0)
        else:
            held.remove(ip)
            t0 = time.monotonic()
            agent.call({"ips": held})
            monitor.wait(lambda key=key: key in monitor.deleted, 10)
            latencies.append(monitor.deleted[key] - t0)
        time.sleep(0.02)
    print(f"change → router FIB over {len(latencies)} changes (half add, half withdraw): "
          f"p50 {pct(latencies, 50) * 1000:.0f} ms, p99 {pct(latencies, 99) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")  # fmt: skip

    # 2) scale: N LoadBalancer IPs at once.
    n = args.scale
    ips = [str(SCALE_BASE + i) for i in range(n)]
    keys = [f"{ip}/32" for ip in ips]
    monitor.track(keys)
    before = agent.call({"stats": True})
    t0 = time.monotonic()
    acked_after = agent.call({"range": [str(SCALE_BASE), n], "wait_acked": True})["acked_after"]
    monitor.wait_present(n, 300)
    t_bgp = max(monitor.added[k] for k in keys) - t0
    held_stats = agent.call({"stats": True})
    time.sleep(5.0)
    idle_stats = agent.call({"stats": True})
    count = lab.exec("router", ["sh", "-c", "ip -4 route show proto bgp | wc -l"]).stdout.strip()
    print(
        f"{n} LoadBalancer IPs → router FIB: {t_bgp:.2f} s "
        f"(ExaBGP acknowledged all after {acked_after:.2f} s; router FIB holds {count} BGP routes)"
    )

    # 3) withdraw all, then FRR loads the same routes as static routes (next hop: node2, connected).
    agent.call({"ips": []})
    monitor.wait_present(0, 300)
    t_boot, w_boot = static_boot(lab, monitor, keys, work)
    print(
        f"FRR loading the same {n} routes as static routes from its frr.conf at start (staticd + "
        f"vtysh -b): {t_boot:.2f} s (first→last route in the FIB {w_boot:.2f} s); "
        f"ratio BGP/static = {t_bgp / t_boot:.1f}"
    )
    t_file, w_file = static_vtysh_file(lab, monitor, keys, work)
    print(
        f"FRR applying them to a running staticd with vtysh -f: {t_file:.2f} s "
        f"(first→last {w_file:.2f} s); ratio BGP/vtysh-f = {t_bgp / t_file:.1f}"
    )
    if args.staticd_file:
        few = keys[: args.staticd_file]
        t_own, _ = static_own_file(lab, monitor, few, work)
        print(f"staticd started with {len(few)} routes in its own -f file: {t_own:.2f} s")

    cpu_apply = held_stats["cpu"] - before["cpu"]
    ex_before, ex_held, ex_idle = before["exabgp"], held_stats["exabgp"], idle_stats["exabgp"]
    print(f"speaker backend while taking {n} Services: CPU {cpu_apply:.2f} s, peak RSS "
          f"{held_stats['maxrss_kib'] / 1024:.0f} MiB; idle 5 s holding them: CPU "
          f"{idle_stats['cpu'] - held_stats['cpu']:.2f} s")  # fmt: skip
    print(
        f"ExaBGP while taking {n} routes: CPU {ex_held['cpu'] - ex_before['cpu']:.2f} s, peak RSS "
        f"{ex_held['maxrss_kib'] / 1024:.0f} MiB; idle 5 s: CPU {ex_idle['cpu'] - ex_held['cpu']:.2f} s"
    )


STATIC_NEXTHOP = "172.30.0.12"  # node2, on the router's connected 172.30.0.0/24 (eth1): resolvable at once


def static_lines(keys: list[str]) -> str:
    return "".join(f"ip route {k} {STATIC_NEXTHOP}\n" for k in keys)


def start_staticd(lab: Any, name: str, config: Path, ready_timeout: float = 15) -> subprocess.Popen[bytes]:
    """staticd in the router, started the way the lab runner starts FRR daemons (``routers.plan_router``)."""
    d = lab.routers["router"].directory
    shutil.chown(config, "frr", "frr")
    argv = [
        "/usr/lib/frr/staticd", "-f", str(config), "-i", str(d / f"{name}.pid"),
        "-z", str(d / "zserv.api"), "--vty_socket", str(d), "-A", "127.0.0.1", "-P", "0",
    ]  # fmt: skip
    vty = d / "staticd.vty"
    vty.unlink(missing_ok=True)
    handle: subprocess.Popen[bytes] = lab.spawn("router", argv, name=name)
    deadline = time.monotonic() + ready_timeout
    while not vty.exists():
        if handle.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start (see its log in the lab state directory)")
        time.sleep(0.01)
    return handle


def stop_staticd(handle: subprocess.Popen[bytes], monitor: RouteMonitor, keys: list[str]) -> None:
    """SIGTERM staticd; zebra then removes its routes. Waits until the router's FIB has none left."""
    handle.terminate()
    handle.wait(30)
    monitor.track(keys)
    monitor.wait_present(0, 300)


def empty_staticd_config(lab: Any) -> Path:
    """An empty config for staticd, in the router's directory (staticd runs as frr: readable there)."""
    empty: Path = lab.routers["router"].directory / "staticd-empty.conf"
    empty.write_text("")
    return empty


def all_added_then_stop(
    handle: subprocess.Popen[bytes], monitor: RouteMonitor, keys: list[str], t0: float
) -> tuple[float, float]:
    """Waits until every one of ``keys`` is in the router's FIB, then stops staticd.

    Returns (seconds from ``t0`` until the last route, seconds from the first route to the last).
    """
    monitor.track(keys)
    monitor.wait_present(len(keys), 600)
    times = [monitor.added[k] for k in keys]
    stop_staticd(handle, monitor, keys)
    return max(times) - t0, max(times) - min(times)


def static_boot(lab: Any, monitor: RouteMonitor, keys: list[str], work: Path) -> tuple[float, float]:
    """FRR starts staticd and loads ``keys`` as static routes from its integrated ``frr.conf``.

    This is how FRR itself boots with an integrated config (``frrinit.sh``/watchfrr in
    the FRR packages and container images): the daemons start, then ``vtysh -b``
    reads ``frr.conf`` and hands each daemon its part (FRR's ``frrcommon.sh``).
    Here zebra is the lab's running zebra; staticd is started for the reference
    (the lab runs zebra and bgpd only) and ``vtysh -b -d staticd`` feeds it a
    ``frr.conf`` of 10,000 ``ip route X/32 172.30.0.12`` lines (next hop on the
    router's connected segment). Returns (seconds from starting staticd until all
    are in the kernel FIB, seconds between the first and the last route reaching
    the FIB).

    Starting staticd with the routes in its own ``-f`` file is not used: FRR 8.4.4
    reads such a file in time worse than quadratic in its length and installs
    nothing before the end (measured: 1,000 routes 8 s, 2,000 routes 45 s, all CPU
    in staticd, every route reaching the FIB within the last few ms; see
    ``--staticd-file``). At 10,000 it would take far longer than the 150 s an
    earlier attempt waited.
    """
    boot = work / "frr-boot"
    boot.mkdir(exist_ok=True)
    (boot / "frr.conf").write_text("frr version 8.4\nfrr defaults traditional\n!\n" + static_lines(keys))
    (boot / "vtysh.conf").write_text("")
    for path in (boot, boot / "frr.conf", boot / "vtysh.conf"):
        shutil.chown(path, "frr", "frr")
    empty = empty_staticd_config(lab)
    d = lab.routers["router"].directory
    t0 = time.monotonic()
    handle = start_staticd(lab, "staticd-boot", empty)
    subprocess.run(
        ["ip", "netns", "exec", lab.namespace("router"), "vtysh", "--vty_socket", str(d),
         "--config_dir", str(boot), "-d", "staticd", "-b"],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return all_added_then_stop(handle, monitor, keys, t0)


def static_vtysh_file(lab: Any, monitor: RouteMonitor, keys: list[str], work: Path) -> tuple[float, float]:
    """A running staticd applies ``keys`` from a file with ``vtysh -f`` (line by line, as typed)."""
    handle = start_staticd(lab, "staticd-vtysh-f", empty_staticd_config(lab))
    conf = work / "static.conf"
    conf.write_text(static_lines(keys))
    shutil.chown(conf, "frr", "frr")
    d = lab.routers["router"].directory
    t0 = time.monotonic()
    subprocess.run(
        ["ip", "netns", "exec", lab.namespace("router"), "vtysh", "--vty_socket", str(d), "-d", "staticd",
         "-f", str(conf)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return all_added_then_stop(handle, monitor, keys, t0)


def static_own_file(lab: Any, monitor: RouteMonitor, keys: list[str], work: Path) -> tuple[float, float]:
    """staticd started with ``keys`` in its own ``-f`` file (superquadratic in FRR 8.4.4: keep it small)."""
    conf = lab.routers["router"].directory / "staticd-own.conf"  # readable by frr (work is 0700)
    conf.write_text(static_lines(keys))
    t0 = time.monotonic()
    handle = start_staticd(lab, "staticd-own-file", conf, ready_timeout=600)
    return all_added_then_stop(handle, monitor, keys, t0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode")
    a = sub.add_parser("agent")
    a.add_argument("--node", required=True)
    a.add_argument("--address", required=True)
    a.add_argument("--workdir", required=True)
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument(
        "--staticd-file", type=int, default=0, metavar="N",
        help="also time staticd reading N routes from its own -f file (slow in FRR 8.4.4; try 1000)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.mode == "agent":
        asyncio.run(agent_main(args))
        return
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    run(args)


if __name__ == "__main__":
    main()
