"""Pure decisions of Lease-based leader election (coordination.k8s.io/v1).

Same rules as client-go's leaderelection, so that two controllers never both write:
- a Lease is this process's only when this process acquired it: it names our identity
  *and* carries an ``acquireTime`` this process wrote (``is_mine``). Identities are unique
  per process anyway (host name + UUID, as client-go's callers make them), but a Lease
  that merely names our identity (a second process given the same ``--identity``, or this
  pod's previous container) is someone else's until it expires;
- expiry is judged by *local* observation time, never by comparing the Lease's
  ``renewTime`` with our own wall clock (clocks of two nodes may disagree): a Lease
  held by someone else is free once its content has not changed for
  ``leaseDurationSeconds`` as measured by our monotonic clock;
- a leader counts itself leader only until ``renew_deadline`` after its last
  successful renewal, which is shorter than the lease duration, so it has stopped
  writing before any standby can consider the Lease expired;
- releasing writes an empty holder, so a standby may acquire at once: only the
  holder itself clears the holder, after it has stopped writing;
- ``leaseTransitions`` counts every change of holder (a taking over after a release too),
  as client-go counts it.

Beyond client-go, the elector also watches its Lease, and these rules say when a
watched change is worth an election round right now (``wake_on``: released, deleted,
or taken by another holder; not mere renewals) and when the next round is due
(``next_round_in``: at the retry period, or as soon as another holder's Lease expires).
Waking early only changes *when* ``decide`` is asked, never its answer, so the safety
rules above hold whatever the watch delivers. A watched version counts as observed
when it arrives: it arrived after the holder wrote it, so after the holder's own
renewal time, which is what the expiry rule needs.
MicroTime fields must carry microseconds and a zone or the server answers 422.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Decision = Literal["create", "acquire", "renew", "wait"]


@dataclass(frozen=True)
class LeaseRecord:
    holder: str  # "" when free
    duration_s: int
    acquire_time: str | None
    renew_time: str | None
    transitions: int
    resource_version: str


@dataclass(frozen=True)
class Observation:
    record: LeaseRecord
    observed_at: float  # monotonic time this version of the record was first seen


def record_from_lease(lease: Mapping[str, Any]) -> LeaseRecord:
    spec = lease.get("spec") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration_s=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=spec.get("acquireTime"),
        renew_time=spec.get("renewTime"),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str((lease.get("metadata") or {}).get("resourceVersion") or ""),
    )


def observe(prev: Observation | None, record: LeaseRecord, now: float) -> Observation:
    """Keep the first-seen time while the record is unchanged; restart it on any change."""
    if prev is not None and prev.record.resource_version == record.resource_version:
        return prev
    return Observation(record, now)


def acquired_at(record: LeaseRecord) -> str | None:
    """The record's ``acquireTime``, normalised as this module writes it (None when unset)."""
    when = _parse_time(record.acquire_time)
    return format_micro_time(when) if when is not None else None


def is_mine(record: LeaseRecord, me: str, acquired: Collection[str]) -> bool:
    """Whether the Lease is this process's: our identity and an ``acquireTime`` we wrote."""
    return bool(record.holder) and record.holder == me and acquired_at(record) in acquired


def held_by_other(obs: Observation, now: float, *, mine: bool) -> bool:
    """Held, not by this process, and not expired by our own clock."""
    rec = obs.record
    if not rec.holder or mine:
        return False
    return now < obs.observed_at + rec.duration_s


def decide(obs: Observation | None, now: float, *, mine: bool) -> Decision:
    if obs is None:
        return "create"
    if mine:
        return "renew"
    if held_by_other(obs, now, mine=False):
        return "wait"
    return "acquire"


def wake_on(old: LeaseRecord | None, new: LeaseRecord | None, *, mine: bool) -> bool:
    """Whether a watched change of the Lease calls for an election round now (``mine``: the
    new version is this process's).

    Yes when it was released (holder cleared), deleted, or acquired anew by someone else
    (another holder, or another process under the same identity: a new ``acquireTime``),
    so a leader learns at once that it lost the Lease. No for a renewal by the same holder
    (standbys would otherwise read the Lease at the leader's renew rate), for our own
    acquisition, or for a first sight of a held Lease (the elector's own rounds read it anyway).
    """
    if new is None:
        return old is not None
    if not new.holder:
        return True
    if mine or old is None:
        return False
    return (new.holder, acquired_at(new)) != (old.holder, acquired_at(old))


def next_round_in(obs: Observation | None, now: float, retry_period: float, *, mine: bool) -> float:
    """Seconds until the next election round: the retry period, or less when another
    holder's Lease expires sooner (a standby then acquires right at expiry)."""
    if obs is not None and held_by_other(obs, now, mine=mine):
        return max(0.0, min(retry_period, obs.observed_at + obs.record.duration_s - now))
    return retry_period


def still_leader(last_renew: float | None, renew_deadline: float, now: float) -> bool:
    return last_renew is not None and now - last_renew < renew_deadline


def micro_time(when: dt.datetime) -> dt.datetime:
    """An aware UTC datetime that the client serialises with microseconds (never ``.000000``-less)."""
    when = when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return when if when.microsecond else when.replace(microsecond=1)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return micro_time(dt.datetime.fromisoformat(value))
    except ValueError:
        return None


def format_micro_time(when: dt.datetime) -> str:
    return micro_time(when).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_spec(
    rec: LeaseRecord | None, me: str, now: dt.datetime, duration: float, *, mine: bool
) -> dict[str, Any]:
    """The spec to write when renewing our Lease (``mine``) or taking it as ``me``.

    Renewing keeps ``acquireTime`` and ``leaseTransitions``; taking it sets a new
    ``acquireTime`` and counts a transition whenever there was a Lease before (held,
    expired or released), as client-go does."""
    t = micro_time(now)
    if rec is not None and mine:
        acquire = _parse_time(rec.acquire_time) or t
        transitions = rec.transitions
    else:
        acquire = t
        transitions = rec.transitions + 1 if rec is not None else 0
    return {
        "holderIdentity": me,
        "leaseDurationSeconds": max(1, math.ceil(duration)),
        "acquireTime": acquire,
        "renewTime": t,
        "leaseTransitions": transitions,
    }


def release_spec(rec: LeaseRecord, now: dt.datetime) -> dict[str, Any]:
    """Spec that gives the Lease up (as client-go's ReleaseOnCancel does)."""
    t = micro_time(now)
    return {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": t,
        "renewTime": t,
        "leaseTransitions": rec.transitions,
    }
