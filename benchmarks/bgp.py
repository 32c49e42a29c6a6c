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
  and the ratio to FRR loading the same 10,000 routes as static routes from a
  config file (``vtysh -f``) in the same run;
- CPU time and peak RSS of the speaker side (backend process) and of ExaBGP while
  holding 10,000 Services, plus their CPU use over an idle window.

    python benchmarks/bgp.py [--changes 60] [--scale 10000]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIG = """
peers:
- {peer-address: 172.30.0.1, peer-asn: 64512, my-asn: 64513, hold-time: 9s}
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
    """``ip monitor route`` in the router namespace: first time each prefix was added / deleted."""

    def __init__(self, namespace: str) -> None:
        self.proc = subprocess.Popen(
            ["ip", "-n", namespace, "-4", "monitor", "route"], stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.added: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
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
                if deleted:
                    self.deleted.setdefault(prefix, now)
                    self.added.pop(prefix, None)
                else:
                    self.added.setdefault(prefix, now)
                    self.deleted.pop(prefix, None)
                self.cond.notify_all()

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
    before = agent.call({"stats": True})
    t0 = time.monotonic()
    acked_after = agent.call({"range": [str(SCALE_BASE), n], "wait_acked": True})["acked_after"]
    monitor.wait(lambda: sum(k in monitor.added for k in keys) == n, 300)
    t_bgp = max(monitor.added[k] for k in keys) - t0
    held_stats = agent.call({"stats": True})
    time.sleep(5.0)
    idle_stats = agent.call({"stats": True})
    count = lab.exec("router", ["sh", "-c", "ip -4 route show proto bgp | wc -l"]).stdout.strip()
    print(
        f"{n} LoadBalancer IPs → router FIB: {t_bgp:.2f} s "
        f"(ExaBGP acknowledged all after {acked_after:.2f} s; router FIB holds {count} BGP routes)"
    )

    # 3) withdraw all, then FRR loads the same routes as static routes from a config file.
    agent.call({"ips": []})
    monitor.wait(lambda: not any(k in monitor.added for k in keys), 300)
    t_static = static_reference(lab, monitor, keys, work)
    print(
        f"FRR applying the same {n} routes as static routes from a config file (vtysh -f): "
        f"{t_static:.2f} s; ratio BGP/static = {t_bgp / t_static:.1f}"
    )

    cpu_apply = held_stats["cpu"] - before["cpu"]
    ex_before, ex_held, ex_idle = before["exabgp"], held_stats["exabgp"], idle_stats["exabgp"]
    print(f"speaker backend while taking {n} Services: CPU {cpu_apply:.2f} s, peak RSS "
          f"{held_stats['maxrss_kib'] / 1024:.0f} MiB; idle 5 s holding them: CPU "
          f"{idle_stats['cpu'] - held_stats['cpu']:.2f} s")  # fmt: skip
    print(
        f"ExaBGP while taking {n} routes: CPU {ex_held['cpu'] - ex_before['cpu']:.2f} s, peak RSS "
        f"{ex_held['maxrss_kib'] / 1024:.0f} MiB; idle 5 s: CPU {ex_idle['cpu'] - ex_held['cpu']:.2f} s"
    )


def static_reference(lab: Any, monitor: RouteMonitor, keys: list[str], work: Path) -> float:
    """FRR applies a file of ``keys`` as static routes (``vtysh -f``); seconds until all are in the FIB.

    staticd is started for it (the lab runs zebra and bgpd only). Starting staticd
    with the 10,000 routes in its own ``-f`` file was tried first: FRR 8.4.4 had not
    installed a single one after 150 s, so the file is applied through vtysh instead.
    """
    plan = lab.routers["router"]
    empty = plan.directory / "staticd-bench.conf"
    empty.write_text("")
    shutil.chown(empty, "frr", "frr")
    d = plan.directory
    argv = [
        "/usr/lib/frr/staticd", "-f", str(empty), "-i", str(d / "staticd-bench.pid"),
        "-z", str(d / "zserv.api"), "--vty_socket", str(d), "-A", "127.0.0.1", "-P", "0",
    ]  # fmt: skip
    lab.spawn("router", argv, name="staticd-bench")
    vty = plan.directory / "staticd.vty"
    deadline = time.monotonic() + 15
    while not vty.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    conf = work / "static.conf"
    conf.write_text("".join(f"ip route {k} 172.30.0.12\n" for k in keys))
    shutil.chown(conf, "frr", "frr")
    t0 = time.monotonic()
    subprocess.run(
        ["ip", "netns", "exec", lab.namespace("router"), "vtysh", "--vty_socket", str(plan.directory), "-f",
         str(conf)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    monitor.wait(lambda: sum(k in monitor.added for k in keys) == len(keys), 600)
    return max(monitor.added[k] for k in keys) - t0


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
    args = parser.parse_args()
    if args.mode == "agent":
        asyncio.run(agent_main(args))
        return
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    run(args)


if __name__ == "__main__":
    main()
