"""`flask --app wsgi users …`. Password hashes are never printed."""
from __future__ import annotations

import re
from typing import Any

import click
from flask.cli import AppGroup

from app.cli.output import emit, json_option
from app.extensions import db
from app.models import User
from app.services.accounts import users as accounts

users_cli = AppGroup("users", help="Accounts: create, list, promote, suspend, reset passwords.")

_password_option = click.option("--password", required=True, prompt=True, hide_input=True,
                                 confirmation_prompt=True, help="At least 8 characters (prompted when left out).")


def user_summary(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "username": user.username, "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "auth_method": user.auth_method, "is_site_admin": user.is_site_admin,
        "suspended": user.suspended, "last_login_at": user.last_login_at, "created_at": user.created_at,
    }


def _line(user: User) -> str:
    flags = [flag for flag, on in (("admin", user.is_site_admin), ("suspended", user.suspended)) if on]
    return (f"{user.id}\t{user.username}\t{user.full_name}\t{user.email}\t{user.auth_method}"
            + (f"\t{', '.join(flags)}" if flags else ""))


def default_email(username: str) -> str:
    """Manual accounts need an email: the username when it is one, else an @example.com placeholder (as for
    accounts created by a launch without an email) whose local part is the username made address-safe, so a
    bad username is reported once, as a username problem."""
    username = username.strip().lower()
    if accounts.is_valid_email(username):
        return username
    local = re.sub(r"[^a-z0-9_-]+", ".", username).strip(".") or "user"
    return f"{local}@example.com"


@users_cli.command("create")
@click.argument("username")
@_password_option
@click.option("--admin", is_flag=True, help="Make the account a site administrator.")
@click.option("--email", help="Default: the username if it is an email address, else USERNAME@example.com.")
@click.option("--first", "first_name", help="First name (default: the username).")
@click.option("--last", "last_name", default="User", show_default=True, help="Last name.")
@json_option
def create(username: str, password: str, admin: bool, email: str | None, first_name: str | None,
           last_name: str, as_json: bool) -> None:
    """Create a manual (password) account."""
    user = accounts.create_user(username, password, email=email if email is not None else default_email(username),
                                first_name=first_name if first_name is not None else username.strip().lower(),
                                last_name=last_name, is_site_admin=admin)
    db.session.commit()
    emit(user_summary(user), as_json, f"Created user {user.username} (id {user.id}).")


@users_cli.command("list")
@json_option
def list_users(as_json: bool) -> None:
    """Every account, by username."""
    users = db.session.execute(accounts.users_query()).scalars().all()
    emit([user_summary(user) for user in users], as_json,
         lambda: "\n".join(_line(user) for user in users) or "(no users)")


@users_cli.command("set-admin")
@click.argument("username")
@click.option("--off", is_flag=True, help="Remove site administrator rights instead.")
@json_option
def set_admin(username: str, off: bool, as_json: bool) -> None:
    """Make an account a site administrator (or not, with --off)."""
    user = accounts.set_admin(accounts.get_user_by_username(username), not off)
    db.session.commit()
    emit(user_summary(user), as_json,
         f"{user.username} is {'no longer' if off else 'now'} a site administrator.")


@users_cli.command("suspend")
@click.argument("username")
@click.option("--off", is_flag=True, help="Unsuspend instead.")
@json_option
def suspend(username: str, off: bool, as_json: bool) -> None:
    """Suspend an account (or unsuspend it, with --off)."""
    user = accounts.set_suspended(accounts.get_user_by_username(username), not off)
    db.session.commit()
    emit(user_summary(user), as_json, f"{user.username} is {'active' if off else 'suspended'}.")


@users_cli.command("reset-password")
@click.argument("username")
@_password_option
@json_option
def reset_password(username: str, password: str, as_json: bool) -> None:
    """Set a new password (manual accounts only)."""
    user = accounts.reset_password(accounts.get_user_by_username(username), password)
    db.session.commit()
    emit(user_summary(user), as_json, f"Password reset for {user.username}.")
