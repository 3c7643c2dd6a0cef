"""LTI 1.3 registrations with platforms, their deployments, cached platform keys and tokens, and our keys."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, partial_unique_index

STATUS_PENDING = "pending"
STATUS_ACTIVE = "active"
DEPLOYMENT_ACTIVE = "active"
DEPLOYMENT_PENDING = "pending"
DEPLOYMENT_IGNORED = "ignored"


class PlatformRegistration(TimestampMixin, db.Model):
    __tablename__ = "platform_registration"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str | None] = mapped_column(String(1024))
    client_id: Mapped[str | None] = mapped_column(String(1333))
    login_id: Mapped[str] = mapped_column(String(60), unique=True)
    # The identity scope of the platform behind this registration: its own random key, or the key of the
    # registration an admin declared to be the same platform (a re-registration).
    platform_key: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16), index=True)
    auth_request_url: Mapped[str | None] = mapped_column(String(1024))
    jwks_url: Mapped[str | None] = mapped_column(String(1024))
    access_token_url: Mapped[str | None] = mapped_column(String(1024))
    token_audience: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(10), default=STATUS_PENDING)
    frame_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_launch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_test: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    deployments: Mapped[list["Deployment"]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def is_complete(self) -> bool:
        return all([self.issuer, self.client_id, self.auth_request_url, self.jwks_url, self.access_token_url])


class RegistrationToken(TimestampMixin, db.Model):
    """The single-use secret in a dynamic Registration URL; separate from the login ID on purpose."""

    __tablename__ = "registration_token"
    __table_args__ = (
        partial_unique_index("uq_registration_token_unused", "registration_id", where="used_at IS NULL"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("platform_registration.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(128), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Deployment(TimestampMixin, db.Model):
    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("platform_registration.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10), default=DEPLOYMENT_ACTIVE)
    legacy_consumer_key: Mapped[str | None] = mapped_column(String(255))
    # The identity scope of the LTI 1.1 credential a launch's migration claim proved (key and secret).
    legacy_scope: Mapped[str | None] = mapped_column(String(80))
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    context_title_seen: Mapped[str | None] = mapped_column(String(1024))

    registration: Mapped[PlatformRegistration] = relationship(back_populates="deployments")


class PlatformKeyset(TimestampMixin, db.Model):
    __tablename__ = "platform_keyset"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("platform_registration.id", ondelete="CASCADE"), unique=True)
    jwks: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_refetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessToken(TimestampMixin, db.Model):
    __tablename__ = "access_token"
    __table_args__ = (UniqueConstraint("registration_id", "scopes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("platform_registration.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(1024))
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ToolKey(TimestampMixin, db.Model):
    """One of our RSA signing keys; its private half never leaves the server."""

    __tablename__ = "tool_key"
    # One Current and one Next at a time: the database, not a prior SELECT, settles processes creating them at once.
    __table_args__ = (partial_unique_index("uq_tool_key_current", "state", where="state = 'current'"),
                      partial_unique_index("uq_tool_key_next", "state", where="state = 'next'"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retire_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
