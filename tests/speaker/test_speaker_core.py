"""The speaker core without namespaces: real manifest source and loopback membership, a recording backend.

Checks the shell's promises: a bad config is refused and the last good one kept;
an unreadable source changes nothing; a membership change reaches the backends
at once; SIGTERM-style stop shuts backends down gracefully.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from ironlb.announce.inputs import AnnounceInputs, Announcement, AnnounceProtocol
from ironlb.cluster.manifests import ManifestSource
from speaker.main import Speaker
from speaker.membership.service import Membership
from speaker.options import SpeakerOptions
from tests.speaker.membership.test_membership_udp import KEY, free_port

GOOD = "address-pools:\n- name: l2\n  protocol: layer2\n  addresses: [192.0.2.0/28]\n"
BAD = "address-pools:\n- name: l2\n  protocol: layer2\n  addresses: [192.0.2.0/33]\n"


class Recorder:
    """A backend that records what the core hands it (our own seam, not a library mock)."""

    def __init__(self) -> None:
        self.applied: list[AnnounceInputs] = []
        self.shutdowns: list[bool] = []

    @property
    def name(self) -> AnnounceProtocol:
        return "layer2"

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def apply(self, inputs: AnnounceInputs) -> Sequence[Announcement]:
        self.applied.append(inputs)
        return [Announcement(s.key, "layer2", inputs.node, ip) for s in inputs.services for ip in s.ips]

    async def shutdown(self, *, graceful: bool) -> None:
        self.shutdowns.append(graceful)


def write(d: Path, config: str, port: int) -> None:
    docs = [
        {
            "kind": "ConfigMap",
            "metadata": {"name": "ironlb", "namespace": "ironlb-system"},
            "data": {"config": config},
        },
        *(
            {
                "kind": "Node",
                "metadata": {"name": n},
                "status": {"addresses": [{"type": "InternalIP", "address": a}]},
            }
            for n, a in (("a", "127.0.0.1"), ("b", "127.0.0.2"))
        ),
        {
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
        },
    ]
    tmp = d / "x.tmp"
    tmp.write_text(yaml.safe_dump_all(docs))
    tmp.rename(d / "cluster.yaml")


async def eventually(pred: Callable[[], bool], timeout: float = 10) -> bool:
    end = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < end:
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


def test_core_keeps_last_good_state_and_follows_membership(tmp_path: Path) -> None:
    port = free_port()
    manifests = tmp_path / "m"
    manifests.mkdir()
    write(manifests, GOOD, port)

    async def scenario() -> None:
        options = SpeakerOptions(node="a", manifests=str(manifests), membership_port=port, poll_interval=0.05)
        rec = Recorder()
        membership = Membership("a", KEY, bind="127.0.0.1", port=port)
        speaker = Speaker(options, ManifestSource([manifests]), membership, [rec])
        task = asyncio.create_task(speaker.run())
        try:
            assert await eventually(lambda: bool(rec.applied))
            first = rec.applied[-1]
            assert [p.name for p in first.config.pools] == ["l2"]
            assert first.live_speakers == {"a", "b"}  # b starts optimistic ...
            assert await eventually(lambda: rec.applied[-1].live_speakers == {"a"})  # ... and is found dead
            write(manifests, BAD, port)
            assert await eventually(lambda: REGISTRY.get_sample_value("ironlb_config_stale_bool") == 1)
            assert rec.applied[-1].config == first.config  # the last good config is kept
            shutil.rmtree(manifests)
            assert await eventually(
                lambda: REGISTRY.get_sample_value("ironlb_cluster_source_unavailable_bool") == 1
            )
            n = len(rec.applied)
            await asyncio.sleep(0.3)
            assert len(rec.applied) == n and not rec.shutdowns  # nothing withdrawn, still running
            assert rec.applied[-1].services == first.services
            speaker.request_stop()
            await asyncio.wait_for(task, 5)
            assert rec.shutdowns == [True]
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
