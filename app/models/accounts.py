"""Accounts, login attempts and the LMS identities bound to accounts."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.base import ProfileMixin, TimestampMixin, UTCDateTime, utcnow

DEFAULT_PASSWORD_HASH_METHOD = "scrypt"

AUTH_MANUAL = "manual"
AUTH_LTI = "lti"


def password_hash_method() -> str:
    """scrypt in production; the test configuration picks a cheap method so the suite stays fast."""
    return current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else DEFAULT_PASSWORD_HASH_METHOD


class User(UserMixin, ProfileMixin, TimestampMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(254), default="")
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    is_site_admin: Mapped[bool] = mapped_column(default=False)
    auth_method: Mapped[str] = mapped_column(String(10), default=AUTH_MANUAL)
    suspended: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session's user id: raising it (logout, password change, suspension, an unlinked identity)
    # ends every session and remember cookie issued before.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    identities: Mapped[list["LtiIdentity"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_id(self) -> str:  # Flask-Login: what the session stores; the user loader checks both parts
        return f"{self.id}.{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """Every session signed in before this point stops working at its next request."""
        self.session_generation = (self.session_generation or 0) + 1

    @property
    def is_active(self) -> bool:  # Flask-Login: a suspended account holds no session
        return not self.suspended

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=password_hash_method())

    def check_password(self, password: str) -> bool:
        """Only manual accounts have passwords; LTI accounts never match."""
        if self.auth_method != AUTH_MANUAL or not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)


class LoginAttempt(db.Model):
    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),
                      Index("ix_login_attempt_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiIdentity(TimestampMixin, db.Model):
    """A subject bound to one account within the scope of the credential that proved it (app/lti/identity.py):
    the platform of an LTI 1.3 registration, or an LTI 1.1 consumer key with its secret. `issuer` is for
    people to read (LTI 1.1: urn:lti11:{consumer key}); it never decides who signs in."""

    __tablename__ = "lti_identity"
    __table_args__ = (UniqueConstraint("scope", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(80))
    issuer: Mapped[str] = mapped_column(String(1024))
    subject: Mapped[str] = mapped_column(String(255))
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_registration.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="identities")
