"""Grades: the single place a grade changes (`record_grade`), course totals and the gradebook tables."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.extensions import db
from app.models import Activity, Course, Grade, User
from app.models.base import utcnow
from app.services.courses.completion import mark_complete
from app.services.courses.content import graded_activities
from app.services.courses.enrolments import student_ids, students
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.courses.grade_triggers import grade_changed

CENT = Decimal("0.01")
MSG_NOT_GRADED = "This activity has no grade"


def format_points(value: Decimal) -> str:
    """12.50 → "12.5", 100.00 → "100": how grades read in messages."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _parse_grade(activity: Activity, value: str | Decimal | int | float | None) -> Decimal:
    maximum = activity.max_grade or Decimal("0")
    try:
        number = Decimal(str(value).strip()) if value is not None else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0 or number > maximum:
        raise ValidationErrors({"grade": f"Grade must be between 0 and {format_points(maximum)}"})
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def grade_for(activity: Activity, user: User) -> Grade | None:
    return db.session.execute(db.select(Grade).where(
        Grade.activity_id == activity.id, Grade.user_id == user.id)).scalar_one_or_none()


def record_grade(activity: Activity, user: User, value: str | Decimal | int | float | None, *,
                 feedback: str | None, grader: User | None) -> Grade:
    """Validate and store a user's grade for a graded activity: every grade change goes through here.

    `feedback` None keeps the existing feedback; `grader` None means the site graded it (quiz attempts).
    `changed_at` moves only when the value changes, because grade sync sends exactly the changed grades.
    """
    if not activity.is_graded:
        raise ServiceError(MSG_NOT_GRADED, field="grade")
    number = _parse_grade(activity, value)
    grade = grade_for(activity, user)
    if grade is None:
        grade = Grade(activity_id=activity.id, user_id=user.id, feedback="")
        db.session.add(grade)
    changed = grade.value is None or grade.value != number
    if changed:
        grade.value = number
        grade.changed_at = utcnow()
    if feedback is not None:
        grade.feedback = feedback.strip()
    grade.graded_by_id = grader.id if grader is not None else None
    db.session.flush()
    if changed:
        grade_changed(activity, user)  # same transaction: the push exists exactly when the grade does
    return grade


def grade_by_teacher(activity: Activity, student: User, value: str | Decimal | int | float | None, *,
                     feedback: str | None, grader: User | None) -> Grade:
    """The grading screen and `courses grade` (no grader account): same checks; grading an assignment completes it."""
    if not activity.is_graded:
        raise ServiceError(MSG_NOT_GRADED, field="grade")
    if student.id not in student_ids(activity.course, activity):
        raise NotFound(f"{student.username} is not a student in {activity.name}")
    grade = record_grade(activity, student, value, feedback=feedback, grader=grader)
    if activity.type == "assignment":
        mark_complete(activity, student)
    return grade


def user_grades(course: Course, user: User) -> dict[int, Grade]:
    return {grade.activity_id: grade for grade in db.session.execute(
        db.select(Grade).join(Activity, Activity.id == Grade.activity_id)
        .where(Activity.course_id == course.id, Grade.user_id == user.id)).scalars()}


def _total(activities: list[Activity], grades: dict[int, Grade], grade_max: Decimal) -> Decimal | None:
    maxima = sum((activity.max_grade or Decimal("0") for activity in activities), Decimal("0"))
    values = [grades[a.id].value for a in activities if a.id in grades and grades[a.id].value is not None]
    if not values or maxima <= 0:
        return None
    return (sum(values, Decimal("0")) / maxima * grade_max).quantize(CENT, rounding=ROUND_HALF_UP)


def course_total(course: Course, user: User) -> Decimal | None:
    """Sum of the user's grades ÷ sum of every graded activity's maximum × the course maximum, to 2 decimals.

    Missing grades count as 0; None (shown "-") when the user has no grade at all.
    """
    return _total(graded_activities(course), user_grades(course, user), course.grade_max)


@dataclass
class GradebookRow:
    user: User
    grades: dict[int, Grade]
    total: Decimal | None


def gradebook(course: Course) -> tuple[list[Activity], list[GradebookRow]]:
    """The teacher view: graded activities as columns, one row per user with a student role in the course."""
    activities = graded_activities(course)
    people = students(course)
    by_user: dict[int, dict[int, Grade]] = {person.id: {} for person in people}
    if people and activities:
        for grade in db.session.execute(db.select(Grade).where(
                Grade.activity_id.in_([a.id for a in activities]), Grade.user_id.in_(by_user))).scalars():
            by_user[grade.user_id][grade.activity_id] = grade
    rows = [GradebookRow(person, by_user[person.id], _total(activities, by_user[person.id], course.grade_max))
            for person in people]
    return activities, rows
