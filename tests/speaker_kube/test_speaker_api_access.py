"""The speaker when its credentials stop working: it says so once, keeps announcing, recovers.

A real ``python -m speaker`` process on the double. Its token is revoked while it runs and
its watches are cut, so every informer's next request is answered 401: the speaker logs one
actionable line (not one per informer and retry), counts the cause in
``ironlb_k8s_client_errors_total{reason="unauthorized"}``, answers ``/readyz`` 503 with that
line (``/healthz`` stays 200), withdraws nothing, and once the token is accepted again it
logs the recovery, is ready again and follows changes as before.
"""

from __future__ import annotations

from pathlib import Path

from tests.kubeapi import KubeApiServer

from .harness import APPS, OLD, SERVICES, WEB, Cluster, SpeakerProcess

HEADLINE = "cannot use the Kubernetes API server"


def test_rejected_token_is_reported_once_and_nothing_is_withdrawn(
    api: tuple[KubeApiServer, Path], tmp_path: Path
) -> None:
    server, kubeconfig = api
    cluster = Cluster(server)
    cluster.seed_web_and_old()

    def unauthorized() -> float:
        return sum(
            v
            for labels, v in sp.samples("ironlb_k8s_client_errors_total")
            if labels == {"reason": "unauthorized"}
        )

    with SpeakerProcess(tmp_path, kubeconfig) as sp:
        sp.until("both announced", lambda: sp.announced() == {WEB, OLD})
        sp.until("every watch open", lambda: server.open_watches() == 4)

        server.revoke_token("speaker")
        server.drop_watches()  # a running watch is not re-authorised; the reconnects are
        sp.until("the actionable error line", lambda: HEADLINE in sp.log())
        sp.until("401s counted from every informer", lambda: unauthorized() >= 4)
        assert sp.announced() == {WEB, OLD}  # nothing withdrawn while the API cannot be read
        ready = sp.get("/readyz")  # not ready, and why (liveness stays: restarting would not help)
        assert ready is not None and ready[0] == 503 and HEADLINE in ready[1], ready
        assert sp.get("/healthz") == (200, "ok\n")
        lines = [line for line in sp.log().splitlines() if HEADLINE in line]
        assert len(lines) == 1, sp.log()
        assert "401 Unauthorized" in lines[0] and f"kubeconfig {kubeconfig}" in lines[0], lines[0]
        # No per-informer, per-retry lines (the cut watches' "connection lost" come before it).
        assert not [line for line in sp.log().splitlines() if "401" in line and HEADLINE not in line]

        server.set_token("speaker")
        sp.until("the recovery line", lambda: "authentication (401 Unauthorized) works again" in sp.log())
        sp.until("ready again", lambda: sp.get("/readyz") == (200, "ok\n"))
        server.store.delete(SERVICES, APPS, "old")
        sp.until("a change after the recovery", lambda: sp.announced() == {WEB}, timeout=30)
    assert "Traceback" not in sp.log(), sp.log()[-3000:]
