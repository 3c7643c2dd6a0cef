"""Who may do what in a course (SPEC 2.3). Site admins may do everything; views turn False into 403."""
from __future__ import annotations

from app.extensions import db
from app.models import Activity, Course, RoleAssignment, User
from app.models.courses import ROLE_NONEDITING, ROLE_STUDENT, ROLE_TEACHER

_RANK = {ROLE_TEACHER: 3, ROLE_NONEDITING: 2, ROLE_STUDENT: 1}


def _best(roles: list[str]) -> str | None:
    return max(roles, key=_RANK.__getitem__) if roles else None


def course_role(user: User, course_id: int) -> str | None:
    """The user's strongest course-level role (several enrolments may each carry one), or None."""
    roles = db.session.execute(db.select(RoleAssignment.role).where(
        RoleAssignment.user_id == user.id, RoleAssignment.course_id == course_id,
        RoleAssignment.activity_id.is_(None))).scalars().all()
    return _best(list(roles))


def activity_role(user: User, course_id: int, activity_id: int) -> str | None:
    """The strongest role that reaches this activity: course level, or held on this activity only."""
    roles = db.session.execute(db.select(RoleAssignment.role).where(
        RoleAssignment.user_id == user.id, RoleAssignment.course_id == course_id,
        (RoleAssignment.activity_id.is_(None)) | (RoleAssignment.activity_id == activity_id))).scalars().all()
    return _best(list(roles))


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
