"""Published resources: a course or one activity made launchable, with all its LTI settings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import ProfileMixin, TimestampMixin, UTCDateTime

LTI_ADVANTAGE = "1.3"
LTI_LEGACY = "legacy"
TARGET_COURSE = "course"
TARGET_ACTIVITY = "activity"
PROVISION_AUTO = 1
PROVISION_PROMPT_NEW_EXISTING = 2
PROVISION_PROMPT_EXISTING = 3
MEMBER_SYNC_ENROL_UNENROL = 1
MEMBER_SYNC_ENROL = 2
MEMBER_SYNC_UNENROL = 3

published_resource_registration = Table(
    "published_resource_registration",
    db.metadata,
    Column("published_resource_id", ForeignKey("published_resource.id", ondelete="CASCADE"), primary_key=True),
    Column("registration_id", ForeignKey("platform_registration.id", ondelete="CASCADE"), primary_key=True),
)


class PublishedResource(ProfileMixin, TimestampMixin, db.Model):
    __tablename__ = "published_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    # SET NULL keeps the row (shown as "Deleted activity") when its activity goes.
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(10), default=TARGET_COURSE)
    lti_version: Mapped[str] = mapped_column(String(10), default=LTI_ADVANTAGE)
    name: Mapped[str] = mapped_column(String(255), default="")
    uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    legacy_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    secret: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    enrol_period: Mapped[int] = mapped_column(default=0)  # seconds, 0 = unlimited
    enrol_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrol_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_enrolled: Mapped[int] = mapped_column(default=0)
    role_instructor: Mapped[str] = mapped_column(String(20), default="teacher")
    role_learner: Mapped[str] = mapped_column(String(20), default="student")
    provisioning_mode_instructor: Mapped[int] = mapped_column(default=PROVISION_PROMPT_NEW_EXISTING)
    provisioning_mode_learner: Mapped[int] = mapped_column(default=PROVISION_AUTO)
    available_to: Mapped[str] = mapped_column(String(10), default="all")
    grade_sync: Mapped[bool] = mapped_column(default=True)
    grade_sync_completion: Mapped[bool] = mapped_column(default=False)
    member_sync: Mapped[bool] = mapped_column(default=True)
    member_sync_mode: Mapped[int] = mapped_column(default=MEMBER_SYNC_ENROL_UNENROL)

    course = relationship("Course")
    activity = relationship("Activity")
    registrations = relationship("PlatformRegistration", secondary=published_resource_registration)

    @property
    def activity_deleted(self) -> bool:
        return self.target == TARGET_ACTIVITY and self.activity_id is None

    @property
    def is_legacy(self) -> bool:
        return self.lti_version == LTI_LEGACY
