"""The speaker when its credentials stop working: it says so once, keeps announcing, recovers.

A real ``python -m speaker`` process on the real API server, with a static token (a credential
the API server can stop and start accepting: its token file is read at each start). The API
server restarts without the token: every informer's next request is answered 401, and the
speaker logs one actionable line (not one per informer and retry), counts the cause in
``ironlb_k8s_client_errors_total{reason="unauthorized"}``, answers ``/readyz`` 503 with that
line (``/healthz`` stays 200), withdraws nothing; the API server restarts accepting the token
again, and the speaker logs the recovery, is ready again and follows changes as before.
"""

from __future__ import annotations

from pathlib import Path

from tests.speaker.kube.harness import Cluster, SpeakerProcess
from tests.support.pytest_plugin import STATIC_TOKEN

HEADLINE = "cannot use the Kubernetes API server"


def test_rejected_token_is_reported_once_and_nothing_is_withdrawn(
    cluster: tuple[Cluster, Path], tmp_path: Path
) -> None:
    c, _ = cluster
    cp = c.kube.cp
    kubeconfig = cp.kubeconfig_with_token(STATIC_TOKEN, tmp_path / "kubeconfig", user_name="speaker")
    c.seed_web_and_old()
    web, old = c.web, c.old

    def unauthorized() -> float:
        return sum(
            v
            for labels, v in sp.samples("ironlb_k8s_client_errors_total")
            if labels == {"reason": "unauthorized"}
        )

    try:
        with SpeakerProcess(tmp_path, kubeconfig, c.ns) as sp:
            sp.until("both announced", lambda: sp.announced() == {web, old})
            cp.remove_static_token(STATIC_TOKEN)
            cp.restart_apiserver()  # the token is no longer accepted; open watches are cut
            sp.until("the actionable error line", lambda: HEADLINE in sp.log(), timeout=30)
            sp.until("401s counted from every informer", lambda: unauthorized() >= 4, timeout=30)
            assert sp.announced() == {web, old}  # nothing withdrawn while the API cannot be read
            ready = sp.get("/readyz")  # not ready, and why (liveness stays: restarting would not help)
            assert ready is not None and ready[0] == 503 and HEADLINE in ready[1], ready
            assert sp.get("/healthz") == (200, "ok\n")
            lines = [line for line in sp.log().splitlines() if HEADLINE in line]
            assert len(lines) == 1, sp.log()
            assert "401 Unauthorized" in lines[0] and f"kubeconfig {kubeconfig}" in lines[0], lines[0]
            # No per-informer, per-retry lines (matched by the reason, not by "401", which a port number
            # or a timestamp's milliseconds may contain).
            unauthorized_lines = [line for line in sp.log().splitlines() if "unauthorized" in line.lower()]
            assert [line for line in unauthorized_lines if HEADLINE not in line] == [], sp.log()

            cp.add_static_token(STATIC_TOKEN, "ironlb-static", groups=["system:masters"])
            cp.restart_apiserver()
            sp.until(
                "the recovery line",
                lambda: "authentication (401 Unauthorized) works again" in sp.log(),
                timeout=30,
            )
            sp.until("ready again", lambda: sp.get("/readyz") == (200, "ok\n"))
            c.core.delete_namespaced_service("old", c.apps)
            sp.until("a change after the recovery", lambda: sp.announced() == {web}, timeout=30)
    finally:
        if not cp.static_token(STATIC_TOKEN):  # as the session had it, for the tests after this one
            cp.add_static_token(STATIC_TOKEN, "ironlb-static", groups=["system:masters"])
            cp.restart_apiserver()
    assert "Traceback" not in sp.log(), sp.log()[-3000:]
