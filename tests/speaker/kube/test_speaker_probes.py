"""The speaker's ``/readyz`` and ``/healthz`` as a real process on the real API server.

A DaemonSet rolling update waits for each new speaker to be ready before the next node,
so a speaker that has no valid config must say so (503 and why), become ready once the
config arrives, and stay ready when the config later turns invalid (it keeps the last good
one: stale, not broken). Liveness is the event loop's own heartbeat: 200 throughout.
"""

from __future__ import annotations

from pathlib import Path

from ironlb.version import python_version, version
from tests.speaker.kube.harness import Cluster, SpeakerProcess, config, node
from tests.support.waiting import wait_for


def test_ready_only_with_a_valid_config_and_stays_ready_when_it_turns_stale(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    c, kubeconfig = cluster
    c.seed_web(with_config=False)
    with SpeakerProcess(tmp_path, kubeconfig, c.ns) as sp:
        missing = (
            f"not ready: no valid config in ConfigMap {c.ns}/ironlb: the ConfigMap does not exist"
            " and there is no ironlb.io config resource\n"
        )
        try:
            wait_for(lambda: sp.get("/readyz") == (503, missing), 20, "/readyz 503 naming the missing config")
            assert sp.get("/healthz") == (200, "ok\n")
            assert sp.announced() == set()
            build = {"version": version(), "python_version": python_version(), "program": "ironlb-speaker"}
            assert sp.samples("ironlb_build_info") == [(build, 1.0)]

            c.core.create_namespaced_config_map(c.ns, config())
            wait_for(lambda: sp.get("/readyz") == (200, "ok\n"), 20, "/readyz 200 once the config is there")
            wait_for(lambda: sp.announced() == {c.web}, 20, "web announced with that config")

            bad = config()
            bad["data"]["config"] = "address-pools: [{name: l2, protocol: layer2, addresses: [not-a-cidr]}]"
            c.core.replace_namespaced_config_map("ironlb", c.ns, bad)
            stale: list[tuple[dict[str, str], float]] = [({}, 1.0)]
            wait_for(lambda: sp.samples("ironlb_config_stale_bool") == stale, 20, "the bad config refused")
            assert sp.get("/readyz") == (200, "ok\n")  # stale, not broken: a rollout goes on
            assert sp.get("/healthz") == (200, "ok\n")
            assert sp.announced() == {c.web}
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- speaker log ---\n{sp.log()[-4000:]}") from None
    assert "Traceback" not in sp.log(), sp.log()[-3000:]


def test_an_invalid_config_from_the_start_is_named(cluster: tuple[Cluster, Path], tmp_path: Path) -> None:
    c, kubeconfig = cluster
    bad = config()
    bad["data"]["config"] = "address-pools: [{name: l2, protocol: layer2, addresses: [not-a-cidr]}]"
    c.seed(nodes=[node("n1", "127.0.0.1")], services=[], slices=[], cm=bad)
    with SpeakerProcess(tmp_path, kubeconfig, c.ns) as sp:

        def body() -> str:
            got = sp.get("/readyz")
            return got[1] if got is not None and got[0] == 503 and "invalid" in got[1] else ""

        try:
            text = wait_for(body, 20, "/readyz 503 naming the invalid config")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- speaker log ---\n{sp.log()[-4000:]}") from None
        assert text.startswith(f"not ready: no valid config in ConfigMap {c.ns}/ironlb: invalid: "), text
        assert "not-a-cidr" in text, text
