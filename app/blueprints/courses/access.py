"""Loading rows from URL ids (404 when missing or foreign) and turning permission checks into 403s."""
from __future__ import annotations

from flask import abort, request
from sqlalchemy.orm.attributes import set_committed_value

from app.models import Activity, Course
from app.models.queries.courses import ACTIVITY as _ACTIVITY, COURSE as _COURSE
from app.services.courses import permissions


def get_course(course_id: int) -> Course:
    found = _COURSE.instances(Course, id=course_id)
    if not found:
        abort(404)
    return found[0]


def viewed_activity(activity_id: int, viewer_id: int | None, activity_type: str | None = None) -> tuple[Activity, bool]:
    """The activity, or 404 — also when it is not of the type the URL only makes sense for — and whether the
    viewer has completed it. Its course is loaded with it (every activity page shows it; `activity.course` then
    reads it from the session), and the viewer's roles in the course for the permission checks."""
    found = _ACTIVITY.joined((Activity, Course), id=activity_id, user=viewer_id, now=permissions.roles_now())
    if not found or (activity_type is not None and found[0][0].type != activity_type):
        abort(404)
    activity, course, viewer = found[0]
    set_committed_value(activity, "course", course)
    if viewer_id is not None:
        permissions.remember_roles(viewer_id, course.id, [
            permissions.RoleRow(row.role_activity_id, row.role) for _a, _c, row in found if row.role is not None])
    return activity, bool(viewer.completed)


def get_activity(activity_id: int, activity_type: str | None = None) -> Activity:
    """The activity (with its course), or 404 as `viewed_activity`."""
    return viewed_activity(activity_id, None, activity_type)[0]


def require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def form_status() -> int:
    """A form page shown again after a POST is a rejected submission: 400."""
    return 400 if request.method == "POST" else 200


