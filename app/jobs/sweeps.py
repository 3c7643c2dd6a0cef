"""The scheduled sweeps and the worker heartbeat, kept in `scheduled_run`.

A sweep is claimed by a conditional UPDATE of its `next_due_at`, so with several workers each sweep runs once
per interval.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import update

from app.extensions import db
from app.models import ScheduledRun
from app.models.base import conflict_insert, utcnow
from app.services.legacy import outcomes as legacy_outcomes
from app.services.platforms import maintenance
from app.services.sync import queueing
from app.services.platforms.settings import lti_setting

GRADE_SWEEP = "grade_sweep"
MEMBER_SWEEP = "member_sweep"
KEY_MAINTENANCE = "key_maintenance"
CLEANUP = "cleanup"
SWEEPS = (GRADE_SWEEP, MEMBER_SWEEP, KEY_MAINTENANCE, CLEANUP)

log = logging.getLogger("courseport.jobs")


def interval(name: str) -> timedelta:
    if name in (GRADE_SWEEP, MEMBER_SWEEP):
        return timedelta(minutes=int(lti_setting("sync_interval_minutes")))
    return timedelta(days=1) if name == KEY_MAINTENANCE else timedelta(hours=1)


def _body(name: str, resource_id: int | None) -> Callable[[], dict[str, Any]]:
    return {
        GRADE_SWEEP: lambda: {"queued": queueing.queue_grade_pushes(resource_id)
                              + legacy_outcomes.queue_outcome_pushes(resource_id)},
        MEMBER_SWEEP: lambda: {"queued": queueing.queue_member_syncs(resource_id)},
        KEY_MAINTENANCE: maintenance.key_maintenance,
        CLEANUP: maintenance.cleanup,
    }[name]


def ensure_rows() -> None:
    """One row per sweep, due at once when new."""
    now = utcnow()
    db.session.execute(conflict_insert(ScheduledRun).on_conflict_do_nothing(index_elements=["name"]),
                       [{"name": name, "created_at": now, "updated_at": now} for name in SWEEPS])


def heartbeat(now: datetime | None = None) -> None:
    """The sync status page warns when no worker has written this for 5 minutes."""
    ensure_rows()
    db.session.execute(update(ScheduledRun).values(heartbeat_at=now or utcnow()))


def _claim(name: str, now: datetime) -> bool:
    result = db.session.execute(update(ScheduledRun).where(
        ScheduledRun.name == name, (ScheduledRun.next_due_at.is_(None)) | (ScheduledRun.next_due_at <= now))
        .values(next_due_at=now + interval(name), last_started_at=now, updated_at=now))
    return result.rowcount == 1


def _run(name: str, resource_id: int | None) -> dict[str, Any]:
    summary = _body(name, resource_id)()
    db.session.execute(update(ScheduledRun).where(ScheduledRun.name == name).values(
        last_finished_at=utcnow(), summary=summary))
    db.session.commit()
    return summary


def run_due_sweeps(now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Run each sweep whose time has come and that no other worker claimed first."""
    now = now or utcnow()
    ensure_rows()
    db.session.commit()
    done: dict[str, dict[str, Any]] = {}
    for name in SWEEPS:
        if not _claim(name, now):
            continue
        db.session.commit()
        try:
            done[name] = _run(name, None)
        except Exception:  # noqa: BLE001 - the next interval tries again; other sweeps still run
            log.exception("sweep %s failed", name)
            db.session.rollback()
    return done


def run_sweep(name: str, resource_id: int | None = None) -> dict[str, Any]:
    """Run one sweep now (cron: `lti sync grades|members`). A whole-site run also resets its schedule."""
    if resource_id is not None:
        summary = _body(name, resource_id)()
        db.session.commit()
        return summary
    now = utcnow()
    ensure_rows()
    db.session.execute(update(ScheduledRun).where(ScheduledRun.name == name).values(
        next_due_at=now + interval(name), last_started_at=now, updated_at=now))
    db.session.commit()
    return _run(name, None)
