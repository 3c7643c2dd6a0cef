"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, url_for
from flask_login import current_user

from app.security import csp_nonce

# Site administration > Publish as LTI tool (SPEC 4.1); entries whose page is not installed are not shown.
ADMIN_LTI_NAV = [
    ("User default values", "lti_settings.defaults"),
    ("LTI settings", "lti_settings.settings"),
    ("Tool registration", "registrations.index"),
    ("Tool keys", "registrations.keys"),
    ("Published resources", "tools.admin_published"),
    ("Launch log", "launch.admin_launches"),
    ("Sync jobs", "sync_admin.jobs"),
    ("Setup guides", "registrations.guides"),
    ("Legacy consumers", "legacy.consumers"),
]


def _viewer_zone() -> ZoneInfo | timezone:
    name = getattr(current_user, "timezone", "") if current_user and current_user.is_authenticated else ""
    try:
        return ZoneInfo(name) if name else timezone.utc
    except ZoneInfoNotFoundError:
        return timezone.utc


def format_datetime(value: datetime | None, default: str = "Never") -> str:
    """Times are stored in UTC and shown in the viewer's time zone."""
    if value is None:
        return default
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(_viewer_zone())
    return local.strftime("%d %B %Y, %H:%M ") + (local.tzname() or "UTC")


def format_grade(value: Decimal | float | None) -> str:
    if value is None:
        return "-"
    text = f"{Decimal(value):.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pluralise(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def admin_lti_nav() -> list[tuple[str, str, str]]:
    functions = current_app.view_functions
    return [(label, endpoint, url_for(endpoint)) for label, endpoint in ADMIN_LTI_NAV if endpoint in functions]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(datetime=format_datetime, grade=format_grade)
    app.jinja_env.globals.update(csp_nonce=csp_nonce, pluralise=pluralise, admin_lti_nav=admin_lti_nav)

    @app.context_processor
    def site_context() -> dict[str, Any]:
        return {"site_name": current_app.config["SITE_NAME"]}
