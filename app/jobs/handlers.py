"""Job kind → the services.sync function that does the work.

A handler may read a whole batch of claimed jobs up front (`prepare`) so a run of similar jobs costs a few
queries instead of several per job. Legacy Basic Outcomes adds an `outcome_push` entry with its own handler.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

from app.extensions import db
from app.jobs.queue import GRADE_PUSH, MEMBER_SYNC, OUTCOME_PUSH, JobOutcome
from app.models import PublishedResource
from app.services.legacy import members as legacy_members
from app.services.legacy import outcomes as legacy_outcomes
from app.services.sync import members as member_sync
from app.services.sync import grades as sync


class Lease(Protocol):
    def checkpoint(self) -> None:
        """Commit what the job has written so far and keep its lock alive."""

    def keep_alive(self) -> None:
        """Keep the job's lock alive during a long stretch with nothing to commit (renewed now and then)."""


@dataclass(frozen=True)
class Handler:
    run: Callable[[dict[str, Any], Any, Lease], JobOutcome]
    prepare: Callable[[list[dict[str, Any]]], Any] | None = None
    batch_size: int = 1


def _push_grade(payload: dict[str, Any], batch: Any, _lease: Lease) -> JobOutcome:
    return sync.push_grade(payload, batch)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A roster sync makes tens of thousands of short-lived objects (members, plans, rows), none in cycles:
    reference counting frees them, but their sheer number sets off hundreds of cyclic collections, full passes
    over the whole heap among them, a tenth of a 10,000-member sync. The collector resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sync_members(payload: dict[str, Any], _batch: Any, lease: Lease) -> JobOutcome:
    resource = db.session.get(PublishedResource, int(payload["resource_id"]))
    if resource is None:
        return JobOutcome.done("The published resource no longer exists.")
    # Legacy rosters come from the LTI 1.1 memberships extension or the LTI 2 memberships service.
    run = (legacy_members.LegacyMemberSync if resource.is_legacy else member_sync.MemberSync)(resource)
    with _collector_paused():
        for step in run.steps():
            # After a page nothing is written yet; after a link all of its member writes commit together.
            if step == "link":
                lease.checkpoint()
            else:
                lease.keep_alive()
    return run.outcome()


def _push_outcome(payload: dict[str, Any], _batch: Any, _lease: Lease) -> JobOutcome:
    return legacy_outcomes.push_outcome(payload)


HANDLERS: dict[str, Handler] = {
    GRADE_PUSH: Handler(_push_grade, sync.GradeBatch.load, batch_size=200),
    MEMBER_SYNC: Handler(_sync_members),
    OUTCOME_PUSH: Handler(_push_outcome),
}
