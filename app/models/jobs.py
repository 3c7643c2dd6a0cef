"""The durable job outbox, the per-user grade sync log and the scheduled sweeps' bookkeeping."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, partial_unique_index, utcnow

JOB_PENDING = "pending"
JOB_RUNNING = "running"
JOB_DONE = "done"
JOB_FAILED = "failed"


class SyncJob(TimestampMixin, db.Model):
    __tablename__ = "sync_job"
    __table_args__ = (
        # A running job may have one pending successor, so uniqueness holds only among pending rows.
        partial_unique_index("uq_sync_job_pending_dedupe", "dedupe_key", where="status = 'pending'"),
        Index("ix_sync_job_status_run_after", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=JOB_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_http_status: Mapped[int | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the last run reported (member sync counts and messages); shown on the sync status page.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    published_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("published_resource.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class GradeSyncLog(db.Model):
    __tablename__ = "grade_sync_log"
    __table_args__ = (Index("ix_grade_sync_log_resource_at", "published_resource_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    published_resource_id: Mapped[int] = mapped_column(ForeignKey("published_resource.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    resource_link_id: Mapped[int | None] = mapped_column(ForeignKey("resource_link.id", ondelete="SET NULL"))
    grade: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    grade_max: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    outcome: Mapped[str] = mapped_column(String(40))
    http_status: Mapped[int | None] = mapped_column()
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledRun(TimestampMixin, db.Model):
    __tablename__ = "scheduled_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
