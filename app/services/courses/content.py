"""Courses and their activities: creation, editing and deletion with their editing rules."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, update

from app.extensions import db
from app.models import Activity, Course, PublishedResource
from app.models.courses import ACTIVITY_TYPES
from app.services.errors import NotFound, ValidationErrors
from app.services.courses.richtext import sanitise

MSG_REQUIRED = "Required"
MSG_POSITIVE = "Enter a number greater than 0"
MSG_ATTEMPTS = "Enter 0 (unlimited) or a positive whole number"
DEFAULT_MAX_GRADE = {"quiz": Decimal("10"), "assignment": Decimal("100")}
TYPE_LABELS = {"page": "Page", "quiz": "Quiz", "assignment": "Assignment"}


def _max_length(limit: int) -> str:
    return f"Maximum of {limit} characters"


def _text(value: str | None, name: str, limit: int, errors: dict[str, str], *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[name] = MSG_REQUIRED
    elif len(value) > limit:
        errors[name] = _max_length(limit)
    return value


def parse_positive(value: str | Decimal | int | float | None, name: str, errors: dict[str, str]) -> Decimal:
    """A number > 0 with at most two decimals (grades are stored to the hundredth)."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite() or number <= 0 or number >= Decimal("100000000"):
        errors[name] = MSG_POSITIVE
        return Decimal("0")
    return number.quantize(Decimal("0.01"))


# ---------------------------------------------------------------- courses

@dataclass
class CourseFields:
    full_name: str
    short_name: str
    summary_html: str = ""
    visible: bool = True
    grade_max: str | Decimal = "100"


def _validated_course(fields: CourseFields, course: Course | None) -> dict:
    errors: dict[str, str] = {}
    full_name = _text(fields.full_name, "full_name", 254, errors)
    short_name = _text(fields.short_name, "short_name", 100, errors)
    if "short_name" not in errors:
        clash = db.session.execute(db.select(Course).where(Course.short_name == short_name)).scalar_one_or_none()
        if clash is not None and clash is not course:
            errors["short_name"] = f"Short name is already used for another course ({clash.full_name})"
    grade_max = parse_positive(fields.grade_max, "grade_max", errors)
    if errors:
        raise ValidationErrors(errors)
    return {"full_name": full_name, "short_name": short_name, "summary_html": sanitise(fields.summary_html),
            "visible": bool(fields.visible), "grade_max": grade_max}


def create_course(fields: CourseFields) -> Course:
    """Raises ValidationErrors keyed by field name (full_name, short_name, grade_max)."""
    course = Course(**_validated_course(fields, None))
    db.session.add(course)
    db.session.flush()
    return course


def update_course(course: Course, fields: CourseFields) -> Course:
    for name, value in _validated_course(fields, course).items():
        setattr(course, name, value)
    db.session.flush()
    return course


def delete_course(course: Course) -> None:
    """Activities go with the course; the database cascades enrolments, grades and published resources."""
    db.session.delete(course)
    db.session.flush()


def course_by_short_name(short_name: str) -> Course:
    course = db.session.execute(
        db.select(Course).where(Course.short_name == (short_name or "").strip())).scalar_one_or_none()
    if course is None:
        raise NotFound(f"Course not found: {short_name}")
    return course


# ---------------------------------------------------------------- activities

@dataclass
class ActivityFields:
    name: str
    description_html: str = ""
    visible: bool = True
    max_grade: str | Decimal | None = None
    content_html: str = ""
    attempts_allowed: str | int = 0
    instructions_html: str = ""


def _validated_activity(activity_type: str, fields: ActivityFields) -> dict:
    errors: dict[str, str] = {}
    values: dict = {
        "name": _text(fields.name, "name", 255, errors),
        "description_html": sanitise(fields.description_html),
        "visible": bool(fields.visible),
    }
    if activity_type == "page":
        values["content_html"] = sanitise(fields.content_html)
    else:
        max_grade = DEFAULT_MAX_GRADE[activity_type] if fields.max_grade in (None, "") else fields.max_grade
        values["max_grade"] = parse_positive(max_grade, "max_grade", errors)
    if activity_type == "quiz":
        try:
            attempts = int(str(fields.attempts_allowed).strip() or "0")
        except ValueError:
            attempts = -1
        if attempts < 0:
            errors["attempts_allowed"] = MSG_ATTEMPTS
        values["attempts_allowed"] = attempts
    if activity_type == "assignment":
        values["instructions_html"] = sanitise(fields.instructions_html)
    if errors:
        raise ValidationErrors(errors)
    return values


def create_activity(course: Course, activity_type: str, fields: ActivityFields) -> Activity:
    """Adds the activity at the end of the course. Raises ValidationErrors keyed by form field name."""
    if activity_type not in ACTIVITY_TYPES:
        raise ValidationErrors({"type": "Choose page, quiz or assignment"})
    values = _validated_activity(activity_type, fields)
    last = db.session.execute(
        db.select(func.max(Activity.position)).where(Activity.course_id == course.id)).scalar()
    activity = Activity(course_id=course.id, type=activity_type, position=(last or 0) + 1, **values)
    db.session.add(activity)
    db.session.flush()
    return activity


def update_activity(activity: Activity, fields: ActivityFields) -> Activity:
    for name, value in _validated_activity(activity.type, fields).items():
        setattr(activity, name, value)
    db.session.flush()
    return activity


def delete_activity(activity: Activity) -> None:
    """Delete the activity with its attempts, submissions, completion and grades.

    Resources publishing it are disabled in the same transaction; the foreign key then sets their
    activity_id to NULL, which the publishing screens show as "Deleted activity".
    """
    db.session.execute(update(PublishedResource).where(PublishedResource.activity_id == activity.id)
                       .values(enabled=False))
    db.session.delete(activity)
    db.session.flush()


def activity_by_name(course: Course, name: str) -> Activity:
    activity = db.session.execute(db.select(Activity).where(
        Activity.course_id == course.id, Activity.name == (name or "").strip())
        .order_by(Activity.position)).scalars().first()
    if activity is None:
        raise NotFound(f"Activity not found in {course.short_name}: {name}")
    return activity


def visible_activities(course: Course) -> list[Activity]:
    return [activity for activity in course.activities if activity.visible]


def graded_activities(course: Course) -> list[Activity]:
    return [activity for activity in course.activities if activity.is_graded]
