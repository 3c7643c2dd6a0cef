"""Accounts: creation with the SPEC 2.1 rules, password login with throttling."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app

from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import AUTH_MANUAL, LoginAttempt, User
from app.models.base import utcnow
from app.services.errors import ServiceError, ValidationErrors

USERNAME_RE = re.compile(r"^[a-z0-9._\-@]{1,100}$")
MSG_USERNAME = ("The username can only contain alphanumeric lowercase characters, underscore (_), hyphen (-), "
                "period (.) or at symbol (@).")
MSG_USERNAME_TAKEN = "This username already exists, choose another"
MSG_PASSWORD = "Passwords must be at least 8 characters long."
MSG_EMAIL = "Invalid email address"
MSG_REQUIRED = "Required"
MSG_INVALID_LOGIN = "Invalid login, please try again"


class LoginThrottled(ServiceError):
    status = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"Too many failed login attempts. Try again in {minutes} minutes.")
        self.minutes = minutes


def is_valid_email(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def validate_account_fields(*, username: str | None, email: str, first_name: str, last_name: str,
                            password: str | None, user: User | None = None) -> dict[str, str]:
    """Field messages for a manual account; `username` None means it is not being set."""
    errors: dict[str, str] = {}
    if username is not None:
        if not username:
            errors["username"] = MSG_REQUIRED
        elif not USERNAME_RE.match(username):
            errors["username"] = MSG_USERNAME
        else:
            clash = db.session.execute(db.select(User.id).where(User.username == username)).scalar()
            if clash is not None and (user is None or clash != user.id):
                errors["username"] = MSG_USERNAME_TAKEN
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if not value:
            errors[field] = MSG_REQUIRED
        elif len(value) > 100:
            errors[field] = "Maximum of 100 characters"
    if not email:
        errors["email"] = MSG_REQUIRED
    elif not is_valid_email(email):
        errors["email"] = MSG_EMAIL
    if password is not None and len(password) < 8:
        errors["password"] = MSG_PASSWORD
    return errors


def create_user(username: str, password: str, *, email: str, first_name: str, last_name: str,
                is_site_admin: bool = False) -> User:
    """Create a manual (password) account. Raises ValidationErrors with SPEC 2.1 messages."""
    username = username.strip().lower()
    email, first_name, last_name = email.strip(), first_name.strip(), last_name.strip()
    errors = validate_account_fields(username=username, email=email, first_name=first_name,
                                     last_name=last_name, password=password)
    if errors:
        raise ValidationErrors(errors)
    user = User(username=username, email=email, first_name=first_name, last_name=last_name,
                is_site_admin=is_site_admin, auth_method=AUTH_MANUAL)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def _throttle_minutes_left(username: str, ip: str) -> int:
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"])
    since = utcnow() - window
    for column, value, limit in ((LoginAttempt.username, username, config["LOGIN_THROTTLE_USER"]),
                                 (LoginAttempt.ip, ip, config["LOGIN_THROTTLE_IP"])):
        failures = db.session.execute(
            db.select(LoginAttempt.at).where(column == value, LoginAttempt.succeeded.is_(False),
                                             LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc()).limit(limit)).scalars().all()
        if len(failures) >= limit:
            # Locked until the oldest of the last `limit` failures leaves the window.
            remaining = (failures[-1] + window - utcnow()).total_seconds()
            return max(1, math.ceil(remaining / 60))
    return 0


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password", method="scrypt")


def authenticate(username: str, password: str, ip: str) -> User:
    """Check a password login. Every failure says the same thing so usernames can't be discovered.

    The attempt is recorded (and flushed) before raising: the caller must commit even on failure so the
    throttle counts it.
    """
    username = (username or "").strip().lower()
    minutes = _throttle_minutes_left(username, ip)
    if minutes:
        raise LoginThrottled(minutes)
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(), password or "")  # same work as a real check: no timing oracle
    ok = user is not None and not user.suspended and user.check_password(password or "")
    db.session.add(LoginAttempt(username=username[:100], ip=ip[:64], succeeded=ok))
    if not ok:
        db.session.flush()
        raise ServiceError(MSG_INVALID_LOGIN)
    user.last_login_at = utcnow()
    db.session.flush()
    return user
