"""Activity and course completion; the grade-sync completion gate reads these."""
from __future__ import annotations

from app.extensions import db
from app.models import Activity, ActivityCompletion, Course, User
from app.models.base import utcnow
from app.models.queries.courses import COMPLETE as _COMPLETE, COMPLETED as _COMPLETED


def mark_complete(activity: Activity, user: User) -> bool:
    """Record completion once (later calls keep the first completion time); True when this call recorded it.
    A page view makes it on every visit, so a completed activity is only read: on SQLite even an insert that the
    unique (activity, user) index turns into nothing takes the database's write lock. That index still settles
    two first views at once."""
    if _COMPLETED.first(activity=activity.id, user=user.id) is not None:
        return False
    return record_completion(activity, user)


def record_completion(activity: Activity, user: User) -> bool:
    """`mark_complete` for a caller that has just read the activity as not yet complete for the user (the activity
    page reads it with the activity); True when this call recorded it."""
    return _COMPLETE.execute(activity=activity.id, user=user.id, now=utcnow()) == 1


def completed_activity_ids(course: Course, user: User) -> set[int]:
    return set(db.session.execute(
        db.select(ActivityCompletion.activity_id).join(Activity, Activity.id == ActivityCompletion.activity_id)
        .where(Activity.course_id == course.id, ActivityCompletion.user_id == user.id)).scalars())


def is_activity_complete(activity: Activity, user: User) -> bool:
    return db.session.execute(db.select(ActivityCompletion.id).where(
        ActivityCompletion.activity_id == activity.id, ActivityCompletion.user_id == user.id)).first() is not None


def is_course_complete(course: Course, user: User) -> bool:
    """Every visible activity is complete. A course with nothing visible has nothing to complete, so it is not."""
    visible = {activity.id for activity in course.activities if activity.visible}
    return bool(visible) and visible <= completed_activity_ids(course, user)
