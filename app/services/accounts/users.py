"""Accounts: creation and administration rules, password login with throttling."""
from __future__ import annotations

import math
import re
from datetime import timedelta
from functools import lru_cache
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import Select, delete, func, insert, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import AUTH_MANUAL, LoginAttempt, LtiIdentity, User
from app.models.accounts import password_hash_method
from app.models.base import utcnow
from app.services.accounts.profile import clean_profile
from app.services.errors import NotFound, ServiceError, ValidationErrors

USERNAME_RE = re.compile(r"^[a-z0-9._\-@]{1,100}$")
MSG_USERNAME = ("The username can only contain alphanumeric lowercase characters, underscore (_), hyphen (-), "
                "period (.) or at symbol (@).")
MSG_USERNAME_TAKEN = "This username already exists, choose another"
MSG_PASSWORD = "Passwords must be at least 8 characters long."
MSG_EMAIL = "Invalid email address"
MSG_REQUIRED = "Required"
MSG_INVALID_LOGIN = "Invalid login, please try again"
MSG_SELF = "You cannot change this for your own account."
MSG_LTI_NO_PASSWORD = "This account signs in from an LMS (authentication method LTI) and cannot have a password."


class LoginThrottled(ServiceError):
    status = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"Too many failed login attempts. Try again in {minutes} minutes.")
        self.minutes = minutes


@lru_cache(maxsize=1024)
def is_valid_email(email: str) -> bool:
    """Every launch checks the platform's email claim, mostly the same few addresses again: the answers are kept
    (the check looks at the address alone, never at DNS)."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def validate_account_fields(*, username: str | None, email: str, first_name: str, last_name: str,
                            password: str | None, user: User | None = None,
                            email_required: bool = True) -> dict[str, str]:
    """Field messages for an account; `username` or `password` None means it is not being set.

    Only manual accounts must have an email (`email_required`); an LTI account may have none, but any
    address it has must be valid.
    """
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
        if email_required:
            errors["email"] = MSG_REQUIRED
    elif not is_valid_email(email):
        errors["email"] = MSG_EMAIL
    if password is not None and len(password) < 8:
        errors["password"] = MSG_PASSWORD
    return errors


def create_user(username: str, password: str, *, email: str, first_name: str, last_name: str,
                is_site_admin: bool = False, suspended: bool = False,
                profile: Mapping[str, Any] | None = None) -> User:
    """Create a manual (password) account. Raises ValidationErrors naming each bad field.

    `profile` holds any of the profile fields (email visibility, city, country, timezone, lang,
    institution) as form or CLI text; missing ones keep the model defaults.
    """
    username = username.strip().lower()
    email, first_name, last_name = email.strip(), first_name.strip(), last_name.strip()
    errors = validate_account_fields(username=username, email=email, first_name=first_name,
                                     last_name=last_name, password=password)
    profile_values, profile_errors = clean_profile(profile or {})
    errors.update(profile_errors)
    if errors:
        raise ValidationErrors(errors)
    user = User(username=username, email=email, first_name=first_name, last_name=last_name,
                is_site_admin=is_site_admin, suspended=suspended, auth_method=AUTH_MANUAL, **profile_values)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


def get_user_by_username(username: str) -> User:
    username = username.strip().lower()
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f'No user with username "{username}".')
    return user


def users_query(search: str = "") -> Select:
    """Every account by username; `search` matches part of the username, the full name or the email."""
    query = db.select(User).order_by(User.username)
    term = search.strip().lower()
    if term:
        full_name = func.lower(User.first_name + " " + User.last_name)
        query = query.where(or_(func.lower(User.username).contains(term, autoescape=True),
                                func.lower(User.email).contains(term, autoescape=True),
                                full_name.contains(term, autoescape=True)))
    return query


def _self_change_errors(user: User, acting_user: User | None, *, is_site_admin: bool,
                        suspended: bool) -> dict[str, str]:
    """An admin who suspends or demotes themselves locks themselves out; both are refused."""
    if acting_user is None or acting_user.id != user.id:
        return {}
    errors = {}
    if user.is_site_admin and not is_site_admin:
        errors["is_site_admin"] = MSG_SELF
    if suspended and not user.suspended:
        errors["suspended"] = MSG_SELF
    return errors


def update_user(user: User, *, acting_user: User | None, username: str, email: str, first_name: str,
                last_name: str, is_site_admin: bool, suspended: bool, password: str | None = None,
                profile: Mapping[str, Any] | None = None) -> User:
    """Save the admin edit form. `password` empty or None keeps the current one (manual accounts only).

    `acting_user` is the admin making the change (None from the CLI); they cannot suspend or demote
    themselves. Raises ValidationErrors; nothing changes unless every field is valid.
    """
    username = username.strip().lower()
    email, first_name, last_name = email.strip(), first_name.strip(), last_name.strip()
    manual = user.auth_method == AUTH_MANUAL
    new_password = password or None
    errors = validate_account_fields(username=username, email=email, first_name=first_name,
                                     last_name=last_name, password=new_password if manual else None, user=user,
                                     email_required=manual)
    if new_password and not manual:
        errors["password"] = MSG_LTI_NO_PASSWORD
    errors.update(_self_change_errors(user, acting_user, is_site_admin=is_site_admin, suspended=suspended))
    profile_values, profile_errors = clean_profile(profile or {})
    errors.update(profile_errors)
    if errors:
        raise ValidationErrors(errors)
    if new_password or (suspended and not user.suspended):
        user.end_sessions()
    user.username, user.email, user.first_name, user.last_name = username, email, first_name, last_name
    user.is_site_admin, user.suspended = is_site_admin, suspended
    for name, value in profile_values.items():
        setattr(user, name, value)
    if new_password:
        user.set_password(new_password)
    db.session.flush()
    return user


def set_suspended(user: User, suspended: bool, *, acting_user: User | None = None) -> User:
    """Suspend or unsuspend; a suspended account cannot log in, launch, or keep an open session."""
    errors = _self_change_errors(user, acting_user, is_site_admin=user.is_site_admin, suspended=suspended)
    if errors:
        raise ServiceError(MSG_SELF, field="suspended")
    if suspended and not user.suspended:
        user.end_sessions()
    user.suspended = suspended
    db.session.flush()
    return user


def set_admin(user: User, is_site_admin: bool, *, acting_user: User | None = None) -> User:
    errors = _self_change_errors(user, acting_user, is_site_admin=is_site_admin, suspended=user.suspended)
    if errors:
        raise ServiceError(MSG_SELF, field="is_site_admin")
    user.is_site_admin = is_site_admin
    db.session.flush()
    return user


def reset_password(user: User, password: str) -> User:
    """Set a password the admin typed. LTI accounts never get one: they must not gain a password login."""
    if user.auth_method != AUTH_MANUAL:
        raise ServiceError(MSG_LTI_NO_PASSWORD, field="password")
    if len(password or "") < 8:
        raise ServiceError(MSG_PASSWORD, field="password")
    user.set_password(password)
    user.end_sessions()
    db.session.flush()
    return user


def log_out(user: User) -> None:
    """Logging out ends every session of the account, so a session cookie copied before stops working too."""
    user.end_sessions()
    db.session.flush()


def get_identity(user: User, identity_id: int) -> LtiIdentity:
    """One of this account's LMS identities; another account's id is NotFound, like a missing one."""
    identity = db.session.get(LtiIdentity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise NotFound("LTI identity not found.")
    return identity


def unlink_identity(user: User, identity_id: int) -> LtiIdentity:
    """Forget one LMS identity of this account; that person's next launch is a first launch again, and the
    sessions its launches opened end."""
    identity = get_identity(user, identity_id)
    user.identities.remove(identity)  # delete-orphan removes the row and keeps the loaded list right
    user.end_sessions()
    db.session.flush()
    return identity


_attempts = LoginAttempt.__table__


def _record_and_throttle(username: str, ip: str) -> tuple[int, int]:
    """(the attempt's id, minutes until it may be checked; 0: now).

    The attempt is recorded as a failure before anything is checked, committed at once in its own transaction,
    and only then are failures counted, every other one included, even attempts still being checked: of any
    number of simultaneous attempts, the one counting last sees all the others, so no more than the limit are
    ever checked (simultaneous ones may be refused a little early, never late). A refused attempt checked
    nothing and is removed. Each step holds one connection, briefly, never the request's session."""
    with db.engine.begin() as connection:
        attempt_id = connection.execute(insert(_attempts).values(
            username=username[:100], ip=ip[:64], succeeded=False, at=utcnow()).returning(_attempts.c.id)).scalar_one()
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"])
    with db.engine.begin() as connection:
        for column, value, limit in ((_attempts.c.username, username, config["LOGIN_THROTTLE_USER"]),
                                     (_attempts.c.ip, ip, config["LOGIN_THROTTLE_IP"])):
            failures = connection.execute(
                select(_attempts.c.at).where(column == value, _attempts.c.succeeded.is_(False),
                                             _attempts.c.at > utcnow() - window, _attempts.c.id != attempt_id)
                .order_by(_attempts.c.at.desc()).limit(limit)).scalars().all()
            if len(failures) >= limit:
                connection.execute(delete(_attempts).where(_attempts.c.id == attempt_id))
                # Locked until the oldest of the last `limit` failures leaves the window.
                remaining = (failures[-1] + window - utcnow()).total_seconds()
                return attempt_id, max(1, math.ceil(remaining / 60))
    return attempt_id, 0


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-password", method=method)


def authenticate(username: str, password: str, ip: str) -> User:
    """Check a password login. Every failure says the same thing so usernames can't be discovered.

    The attempt is recorded as a failure (committed on its own) before the throttle is checked, which makes the
    check and the record one step; a correct password turns it into a success, which the caller commits.
    """
    username = (username or "").strip().lower()
    attempt_id, minutes = _record_and_throttle(username, ip)
    if minutes:
        raise LoginThrottled(minutes)
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(password_hash_method()), password or "")  # same work as a real check: no timing oracle
    ok = user is not None and not user.suspended and user.check_password(password or "")
    if not ok:
        raise ServiceError(MSG_INVALID_LOGIN)
    db.session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))
    user.last_login_at = utcnow()
    db.session.flush()
    return user
