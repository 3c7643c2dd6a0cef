"""Who may do what in a course. Site admins may do everything; views turn False into 403."""
from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, event, or_
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import db
from app.models import Activity, Course, Enrolment, PublishedResource, RoleAssignment, User
from app.models.base import utcnow
from app.models.courses import ROLE_NONEDITING, ROLE_STUDENT, ROLE_TEACHER
from app.models.queries.courses import ROLES as _ROLES

_RANK = {ROLE_TEACHER: 3, ROLE_NONEDITING: 2, ROLE_STUDENT: 1}


def _best(roles: list[str]) -> str | None:
    return max(roles, key=_RANK.__getitem__) if roles else None


_CACHE_KEY = "course_roles"


def _roles_in_course(user_id: int, course_id: int) -> list[Any]:
    """Every role the user holds in the course, (activity_id or None, role): one query per page, however many
    checks it makes (an activity page makes four). Kept in the session's info until its next flush, write
    statement, commit or rollback; writers on the driver's cursor (app/models/driver_sql.py) call `forget_roles`."""
    key = (user_id, course_id)
    cached = db.session.info.get(_CACHE_KEY, {}).get(key)
    if cached is None:
        # Read before the cache is taken: the statement's flush may empty it.
        cached = _ROLES.all(user=user_id, course=course_id, now=utcnow())
        db.session.info.setdefault(_CACHE_KEY, {})[key] = cached
    return cached


def roles_now() -> datetime:
    """The time a role's enrolment window is judged at, for a page that reads the roles with its own rows."""
    return utcnow()


class RoleRow(NamedTuple):
    activity_id: int | None
    role: str


def remember_roles(user_id: int, course_id: int, roles: list[RoleRow]) -> None:
    """Every role the user holds in the course, as a page read them with its own rows (the rule of `_ROLES`): the
    checks that follow use them like `_roles_in_course`'s own."""
    db.session.info.setdefault(_CACHE_KEY, {})[(user_id, course_id)] = roles


def lasting(statement: Select, now: datetime) -> Select:
    """`statement` over role_assignment, keeping the roles whose enrolment lasts at `now` (the rule of `_ROLES`),
    for the pages that list a user's roles instead of checking one."""
    return statement.join(Enrolment, Enrolment.id == RoleAssignment.enrolment_id).outerjoin(
        PublishedResource, PublishedResource.id == Enrolment.published_resource_id).where(
        or_(Enrolment.time_end.is_(None), Enrolment.time_end > now),
        or_(PublishedResource.enrol_end.is_(None), PublishedResource.enrol_end > now),
        or_(PublishedResource.enrol_start.is_(None), PublishedResource.enrol_start <= now))


def forget_roles(session: Session | None = None, *_: Any) -> None:
    (session or db.session).info.pop(_CACHE_KEY, None)


for _event in ("after_flush", "after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _event, forget_roles)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state: ORMExecuteState) -> None:
    """Bulk INSERT, UPDATE and DELETE through Session.execute change rows without a flush."""
    if state.is_insert or state.is_update or state.is_delete:
        forget_roles(state.session)


def course_role(user: User, course_id: int) -> str | None:
    """The user's strongest course-level role (several enrolments may each carry one), or None."""
    return _best([row.role for row in _roles_in_course(user.id, course_id) if row.activity_id is None])


def activity_role(user: User, course_id: int, activity_id: int) -> str | None:
    """The strongest role that reaches this activity: course level, or held on this activity only."""
    return _best([row.role for row in _roles_in_course(user.id, course_id)
                  if row.activity_id is None or row.activity_id == activity_id])


def can_manage_course(user: User, course: Course) -> bool:
    """Edit activities, enrol users, grade, publish LTI resources: teachers and admins."""
    return user.is_site_admin or course_role(user, course.id) == ROLE_TEACHER


def can_view_staff_pages(user: User, course: Course) -> bool:
    """Gradebook, launch details, sync status: teachers, non-editing teachers and admins."""
    return user.is_site_admin or course_role(user, course.id) in (ROLE_TEACHER, ROLE_NONEDITING)


def can_view_course(user: User, course: Course) -> bool:
    """Hidden courses are for staff; visible ones also for course-level students (not activity-only roles)."""
    if user.is_site_admin:
        return True
    role = course_role(user, course.id)
    if role in (ROLE_TEACHER, ROLE_NONEDITING):
        return True
    return role == ROLE_STUDENT and course.visible


def can_view_activity(user: User, activity: Activity) -> bool:
    """Staff see every activity; students (course level or this activity only) when it and its course are visible."""
    if user.is_site_admin:
        return True
    role = activity_role(user, activity.course_id, activity.id)
    if role in (ROLE_TEACHER, ROLE_NONEDITING):
        return True
    return role == ROLE_STUDENT and activity.visible and activity.course.visible


def is_activity_student(user: User, activity: Activity) -> bool:
    """Attempts quizzes and submits assignments here: the strongest role reaching the activity is Student."""
    return activity_role(user, activity.course_id, activity.id) == ROLE_STUDENT
