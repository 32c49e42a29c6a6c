"""The speakers' membership Secret: created by the leader, once per term, if it is missing.

Why the controller: the speakers need a shared key before they can form a membership, and
the controller is the one component that runs first and has a Lease to say who acts. An
existing Secret is never touched (``ironlb.kube.membership_secret``); a standby never
writes; ``--membership-secret ''`` turns it off. Allocation never waits for it: a failure is
retried through the work queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from controller.reconciler import SyncState
from ironlb.kube.errors import KubeError, PermanentKubeError, retry_log_level
from ironlb.kube.membership_secret import ensure_membership_secret

log = logging.getLogger(__name__)


class MembershipSecret:
    def __init__(self, api: Any, namespace: str, name: str) -> None:
        self.api, self.namespace, self.name = api, namespace, name
        self._checked = -1  # the leadership generation whose Secret is ensured

    def ensure(self, generation: int, leading: Callable[[], bool]) -> SyncState:
        """For term ``generation``, if ``leading()``: create the Secret unless it exists (once per term)."""
        if not self.name or self._checked == generation or not leading():
            return "done"
        where = f"{self.namespace}/{self.name}"
        try:
            ensure_membership_secret(self.api, self.namespace, self.name)
        except PermanentKubeError as exc:
            log.error("membership Secret %s: %s; not retrying", where, exc)
        except KubeError as exc:
            log.log(retry_log_level(exc), "membership Secret %s: %s; will retry", where, exc)
            return "retry"
        self._checked = generation
        return "done"
