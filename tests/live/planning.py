"""What ``ironlb plan`` computes against the live cluster, in process (the plan==controller tests)."""

from __future__ import annotations

from ironlb.cli.live import config_in_force
from ironlb.config.result import ConfigResult
from ironlb.kube.client import make_api_client
from ironlb.kube.snapshot import read_live_inputs
from ironlb.live.whatif import exit_code, what_if
from tests.live.conftest import Live


def plan_against_live(
    live: Live, proposal: ConfigResult | None
) -> tuple[int, dict[tuple[str, str], tuple[str, ...]]]:
    """The exit status of a plan of ``proposal`` (None: the config in force) and every Service's IPs
    after it, by (namespace, name)."""
    api = make_api_client(str(live.admin_kubeconfig))
    try:
        inputs = read_live_inputs(api, namespace=live.ns, configmap="ironlb")
    finally:
        api.close()  # type: ignore[no-untyped-call]
    current, _ = config_in_force(inputs)
    if proposal is None:
        target = current
    else:
        assert proposal.config is not None, proposal.errors
        target = proposal.config
    diff = what_if(current, target, inputs.snapshot, lb_class=live.lb_class)
    after = {(r.namespace, r.name): tuple(str(ip) for ip in r.ips) for r in diff.after.services}
    return exit_code(diff), after
