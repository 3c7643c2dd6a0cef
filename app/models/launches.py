"""What launches leave behind: platform contexts, resource links, LTI users, storage, consumers, the log."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, utcnow


class LtiContext(TimestampMixin, db.Model):
    __tablename__ = "lti_context"
    __table_args__ = (UniqueConstraint("deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    types: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(1024), default="")
    label: Mapped[str] = mapped_column(String(255), default="")


class ResourceLink(TimestampMixin, db.Model):
    __tablename__ = "resource_link"
    __table_args__ = (UniqueConstraint("deployment_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    published_resource_id: Mapped[int] = mapped_column(
        ForeignKey("published_resource.id", ondelete="CASCADE"), index=True)
    lti_context_id: Mapped[int | None] = mapped_column(ForeignKey("lti_context.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(1024), default="")
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(2048))
    ags_lineitem_url: Mapped[str | None] = mapped_column(String(2048))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    cached_lineitem_url: Mapped[str | None] = mapped_column(String(2048))
    nrps_memberships_url: Mapped[str | None] = mapped_column(String(2048))
    nrps_versions: Mapped[list[str]] = mapped_column(JSON, default=list)

    deployment = relationship("Deployment")
    context = relationship("LtiContext")
    resource = relationship("PublishedResource")


class LtiUser(TimestampMixin, db.Model):
    """A platform user as seen through one published resource (LTI 1.3 or legacy)."""

    __tablename__ = "lti_user"
    __table_args__ = (UniqueConstraint("published_resource_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    published_resource_id: Mapped[int] = mapped_column(ForeignKey("published_resource.id", ondelete="CASCADE"))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    last_access_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consumer_key: Mapped[str | None] = mapped_column(String(255))
    outcome_url: Mapped[str | None] = mapped_column(String(2048))
    result_sourcedid: Mapped[str | None] = mapped_column(String(1024))
    memberships_url: Mapped[str | None] = mapped_column(String(2048))
    memberships_id: Mapped[str | None] = mapped_column(String(1024))
    # Legacy only: the LMS course (for LTI 2 membership URLs), and the last Basic Outcomes score sent — resource
    # links need a deployment, so a legacy user keeps its change detection here.
    context_id: Mapped[str | None] = mapped_column(String(255))
    last_grade_sent: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
    resource = relationship("PublishedResource")


class LtiUserResourceLink(TimestampMixin, db.Model):
    __tablename__ = "lti_user_resource_link"
    __table_args__ = (UniqueConstraint("lti_user_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lti_user_id: Mapped[int] = mapped_column(ForeignKey("lti_user.id", ondelete="CASCADE"))
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("resource_link.id", ondelete="CASCADE"), index=True)
    last_grade_sent: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_score_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LtiStorageEntry(db.Model):
    """Used login nonces, validated launches and handoffs; single use by an INSERT or a conditional DELETE."""

    __tablename__ = "lti_storage_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Lti11Consumer(TimestampMixin, db.Model):
    __tablename__ = "lti11_consumer"
    __table_args__ = (UniqueConstraint("published_resource_id", "consumer_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    published_resource_id: Mapped[int] = mapped_column(ForeignKey("published_resource.id", ondelete="CASCADE"))
    consumer_key: Mapped[str] = mapped_column(String(255))
    secret: Mapped[str | None] = mapped_column(String(255))  # LTI 2 tool proxies only
    lti_version: Mapped[str] = mapped_column(String(10), default="LTI-1p0")
    name: Mapped[str] = mapped_column(String(1024), default="")
    guid: Mapped[str] = mapped_column(String(1024), default="")
    version: Mapped[str] = mapped_column(String(255), default="")
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    tool_proxy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_access_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Origins of the consumer's launch_presentation_return_url: they may frame launched pages.
    frame_origins: Mapped[list[str]] = mapped_column(JSON, default=list)


class Lti11Nonce(db.Model):
    __tablename__ = "lti11_nonce"
    __table_args__ = (UniqueConstraint("consumer_key", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_key: Mapped[str] = mapped_column(String(255))
    nonce: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LaunchLog(db.Model):
    """Every launch attempt; failures carry a check code, a plain cause and a fix. Never tokens or secrets."""

    __tablename__ = "launch_log"
    __table_args__ = (Index("ix_launch_log_registration_at", "registration_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))
    check_code: Mapped[str | None] = mapped_column(String(60))
    cause: Mapped[str | None] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(Text)
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_registration.id", ondelete="SET NULL"))
    issuer: Mapped[str | None] = mapped_column(String(1024))
    client_id: Mapped[str | None] = mapped_column(String(1333))
    deployment_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(255))
    published_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("published_resource.id", ondelete="SET NULL"))
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    message_type: Mapped[str | None] = mapped_column(String(60))
    consumer_key: Mapped[str | None] = mapped_column(String(255))
    cookie_method: Mapped[str | None] = mapped_column(String(30))
    clock_skew: Mapped[int | None] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))
