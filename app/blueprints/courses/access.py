"""Loading rows from URL ids (404 when missing or foreign) and turning permission checks into 403s."""
from __future__ import annotations

from flask import abort, request

from app.extensions import db
from app.models import Activity, Course


def get_course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return course


def get_activity(activity_id: int, activity_type: str | None = None) -> Activity:
    """The activity, or 404 — also when it is not of the type the URL only makes sense for."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or (activity_type is not None and activity.type != activity_type):
        abort(404)
    return activity


def require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def form_status() -> int:
    """A form page shown again after a POST is a rejected submission: 400."""
    return 400 if request.method == "POST" else 200


