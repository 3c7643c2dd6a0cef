"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, has_request_context, request, session, url_for
from flask_login import current_user

from app.extensions import db
from app.lti.launch import EMBED_SESSION_KEY
from app.models import Activity, Course
from app.security import csp_nonce

# Site administration > Publish as LTI tool; entries whose page is not installed are not shown.
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


def viewer_zone() -> ZoneInfo | timezone:
    """The signed-in viewer's zone (UTC when unset): pages show times in it and date inputs are read in it."""
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
    local = value.astimezone(viewer_zone())
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


Crumb = tuple[str, "str | None"]


def _href(endpoint: str, **values: Any) -> str | None:
    """A crumb links only to a page this app installs (some test apps leave blueprints out)."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def admin_crumbs(*trail: Crumb) -> list[Crumb]:
    """The trail of every Site administration page."""
    return [("Site administration", _href("admin_users.site_admin")), *trail]


def lti_admin_crumbs(*trail: Crumb) -> list[Crumb]:
    """The trail of every page under Site administration > Publish as LTI tool."""
    anchor = _href("admin_users.site_admin", _anchor="publish-as-lti-tool")
    return admin_crumbs(("Publish as LTI tool", anchor), *trail)


def course_crumbs(course: Course, *trail: Crumb) -> list[Crumb]:
    """The trail of every page inside a course: Courses, then the course, then `trail`."""
    return [("Courses", _href("courses.course_list")),
            (course.full_name, _href("courses.view_course", course_id=course.id)), *trail]


def _embedded_layout() -> dict[str, str]:
    """`layout` for pages that `{% extends layout|default("base.html") %}`: "embedded.html" on the course (and its
    activities) or the activity that an LTI launch in this session embedded."""
    scope = session.get(EMBED_SESSION_KEY) if has_request_context() else None
    if not scope or not request.view_args:
        return {}
    course_id, activity_id = request.view_args.get("course_id"), request.view_args.get("activity_id")
    if activity_id is not None and scope.get("activity") == activity_id:
        return {"layout": "embedded.html"}
    if activity_id is not None and "course" in scope:
        activity = db.session.get(Activity, activity_id)  # already loaded by the page's view
        course_id = activity.course_id if activity else None
    if course_id is not None and scope.get("course") == course_id:
        return {"layout": "embedded.html"}
    return {}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(datetime=format_datetime, grade=format_grade)
    app.jinja_env.globals.update(csp_nonce=csp_nonce, pluralise=pluralise, admin_lti_nav=admin_lti_nav)
    app.context_processor(_embedded_layout)

    @app.context_processor
    def site_context() -> dict[str, Any]:
        return {"site_name": current_app.config["SITE_NAME"]}
