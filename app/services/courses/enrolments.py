"""Manual enrolment, unenrolment and who takes part in a course."""
from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models import Activity, Course, Enrolment, PublishedResource, RoleAssignment, User
from app.models.base import conflict_insert, utcnow
from app.models.courses import ROLE_LABELS, ROLE_STUDENT, ROLES
from app.services.errors import NotFound, ValidationErrors
from app.services.courses.permissions import can_view_activity, lasting
from app.services.publishing.resources import resource_display_name

MSG_ROLE = "Choose Teacher, Non-editing teacher or Student"


def enrol_user(course: Course, user: User, role: str) -> Enrolment:
    """Enrol manually with one course-level role; enrolling someone already manually enrolled changes the role.

    The unique indexes settle two submits at once (INSERT … ON CONFLICT), not a prior SELECT: the second one finds
    the first one's enrolment and sets the role it asked for, instead of failing on the constraint."""
    if role not in ROLES:
        raise ValidationErrors({"role": MSG_ROLE})
    now = utcnow()
    db.session.execute(conflict_insert(Enrolment).values(
        course_id=course.id, user_id=user.id, time_start=now, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=[Enrolment.course_id, Enrolment.user_id],
                             index_where=Enrolment.published_resource_id.is_(None)))
    enrolment = db.session.execute(db.select(Enrolment).where(
        Enrolment.course_id == course.id, Enrolment.user_id == user.id,
        Enrolment.published_resource_id.is_(None))).scalar_one()
    assignment = conflict_insert(RoleAssignment).values(
        enrolment_id=enrolment.id, user_id=user.id, course_id=course.id, role=role, created_at=now, updated_at=now)
    # RETURNING with populate_existing: a role assignment this session already loaded shows the new role.
    db.session.execute(assignment.on_conflict_do_update(
        index_elements=[RoleAssignment.enrolment_id], index_where=RoleAssignment.activity_id.is_(None),
        set_={"role": assignment.excluded.role, "updated_at": assignment.excluded.updated_at},
    ).returning(RoleAssignment), execution_options={"populate_existing": True})
    return enrolment


def unenrol_user(course: Course, user: User) -> None:
    """Remove every enrolment (manual and LTI) the user has in the course, with its role assignments.

    Grades and submissions stay: they belong to the person, not to the enrolment.
    """
    enrolments = _enrolments(course, user)
    if not enrolments:
        raise NotFound(f"{user.username} is not enrolled in {course.short_name}")
    for enrolment in enrolments:
        db.session.delete(enrolment)
    db.session.flush()


def _enrolments(course: Course, user: User) -> list[Enrolment]:
    return list(db.session.execute(db.select(Enrolment).where(
        Enrolment.course_id == course.id, Enrolment.user_id == user.id)).scalars())


def is_enrolled(course: Course, user: User) -> bool:
    return bool(_enrolments(course, user))


@dataclass
class Participant:
    user: User
    roles: list[str]
    methods: list[str]
    status: str


def _method_label(enrolment: Enrolment, resources: dict[int, PublishedResource]) -> str:
    if enrolment.published_resource_id is None:
        return "Manual enrolments"
    return f"Publish as LTI tool: {resource_display_name(resources[enrolment.published_resource_id])}"


def _status(user: User, enrolments: list[Enrolment]) -> str:
    if user.suspended:
        return "Suspended"
    now = utcnow()
    current = any((e.time_start is None or e.time_start <= now) and (e.time_end is None or e.time_end > now)
                  for e in enrolments)
    return "Active" if current else "Not current"


def participants(course: Course) -> list[Participant]:
    """Everyone enrolled, by last then first name, with role labels ("Student (Quiz 1)" when activity-only)."""
    enrolments = list(db.session.execute(db.select(Enrolment).where(Enrolment.course_id == course.id)).scalars())
    resource_ids = {e.published_resource_id for e in enrolments if e.published_resource_id}
    resources = {r.id: r for r in db.session.execute(
        db.select(PublishedResource).where(PublishedResource.id.in_(resource_ids))).scalars()}
    activity_names = {a.id: a.name for a in course.activities}
    by_user: dict[int, list[Enrolment]] = {}
    for enrolment in enrolments:
        by_user.setdefault(enrolment.user_id, []).append(enrolment)
    users = {u.id: u for u in db.session.execute(db.select(User).where(User.id.in_(by_user))).scalars()}
    result = []
    for user_id, user_enrolments in by_user.items():
        roles: list[str] = []
        for enrolment in user_enrolments:
            for assignment in enrolment.roles:
                label = ROLE_LABELS[assignment.role]
                if assignment.activity_id is not None:
                    label = f"{label} ({activity_names.get(assignment.activity_id, 'activity')})"
                if label not in roles:
                    roles.append(label)
        methods = sorted({_method_label(e, resources) for e in user_enrolments})
        result.append(Participant(users[user_id], roles, methods, _status(users[user_id], user_enrolments)))
    return sorted(result, key=lambda p: (p.user.last_name.lower(), p.user.first_name.lower(), p.user.username))


def student_ids(course: Course, activity: Activity | None = None) -> set[int]:
    """Users holding a Student role at course level or, for `activity` (or any activity when None), on it."""
    query = db.select(RoleAssignment.user_id).where(
        RoleAssignment.course_id == course.id, RoleAssignment.role == ROLE_STUDENT)
    if activity is not None:
        query = query.where(RoleAssignment.activity_id.is_(None) | (RoleAssignment.activity_id == activity.id))
    return set(db.session.execute(query).scalars())


def students(course: Course, activity: Activity | None = None) -> list[User]:
    ids = student_ids(course, activity)
    if not ids:
        return []
    return list(db.session.execute(db.select(User).where(User.id.in_(ids))
                                   .order_by(User.last_name, User.first_name, User.username)).scalars())


@dataclass
class MyCourse:
    course: Course
    role: str


def my_courses(user: User) -> tuple[list[MyCourse], list[Activity]]:
    """The dashboard: courses where the user holds a course-level role they may open, by name, and the
    activities reached only through an activity-level role."""
    assignments = list(db.session.execute(lasting(
        db.select(RoleAssignment).where(RoleAssignment.user_id == user.id), utcnow())).scalars())
    best: dict[int, str] = {}
    activity_ids: set[int] = set()
    for assignment in assignments:
        if assignment.activity_id is not None:
            activity_ids.add(assignment.activity_id)
            continue
        current = best.get(assignment.course_id)
        if current is None or ROLES.index(assignment.role) < ROLES.index(current):  # ROLES runs strongest first
            best[assignment.course_id] = assignment.role
    courses = {c.id: c for c in db.session.execute(db.select(Course).where(Course.id.in_(best))).scalars()}
    mine = [MyCourse(courses[course_id], role) for course_id, role in best.items()
            if role != ROLE_STUDENT or courses[course_id].visible]
    activities = [a for a in db.session.execute(db.select(Activity).where(Activity.id.in_(activity_ids))
                                                .order_by(Activity.name)).scalars()
                  if a.course_id not in best and can_view_activity(user, a)]
    return sorted(mine, key=lambda m: m.course.full_name.lower()), activities
