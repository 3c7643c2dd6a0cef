"""Assignment online-text submissions and the teacher's list of them."""
from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models import Activity, AssignmentSubmission, Grade, User
from app.models.base import conflict_insert, utcnow
from app.services.courses.enrolments import students
from app.services.courses.gradebook import grade_for
from app.services.errors import ServiceError, ValidationErrors
from app.services.courses.richtext import sanitise

MSG_REQUIRED = "Required"
MSG_GRADED = "Your submission has been graded and can no longer be changed."


def submission_for(activity: Activity, user: User) -> AssignmentSubmission | None:
    return db.session.execute(db.select(AssignmentSubmission).where(
        AssignmentSubmission.activity_id == activity.id, AssignmentSubmission.user_id == user.id)).scalar_one_or_none()


def is_graded(activity: Activity, user: User) -> bool:
    grade = grade_for(activity, user)
    return grade is not None and grade.value is not None


def save_submission(activity: Activity, user: User, text_html: str) -> AssignmentSubmission:
    """Create or replace the online text (sanitised); refused once a teacher has graded it."""
    if is_graded(activity, user):
        raise ServiceError(MSG_GRADED, field="text")
    clean = sanitise(text_html)
    if not clean:
        raise ValidationErrors({"text": MSG_REQUIRED})
    now = utcnow()
    # One statement: a second save arriving at the same moment (a double click) updates the row the first made.
    insert = conflict_insert(AssignmentSubmission).values(activity_id=activity.id, user_id=user.id, text_html=clean,
                                                          submitted_at=now, created_at=now, updated_at=now)
    db.session.execute(insert.on_conflict_do_update(index_elements=["activity_id", "user_id"], set_={
        "text_html": clean, "submitted_at": now, "updated_at": now}))
    return db.session.execute(db.select(AssignmentSubmission).where(
        AssignmentSubmission.activity_id == activity.id, AssignmentSubmission.user_id == user.id)
        .execution_options(populate_existing=True)).scalar_one()


@dataclass
class SubmissionRow:
    user: User
    submission: AssignmentSubmission | None
    grade: Grade | None


def submission_rows(activity: Activity) -> list[SubmissionRow]:
    """Every student who can reach the assignment, with their submission and grade (either may be missing)."""
    people = students(activity.course, activity)
    ids = [person.id for person in people]
    submissions = {s.user_id: s for s in db.session.execute(db.select(AssignmentSubmission).where(
        AssignmentSubmission.activity_id == activity.id, AssignmentSubmission.user_id.in_(ids))).scalars()}
    grades = {g.user_id: g for g in db.session.execute(db.select(Grade).where(
        Grade.activity_id == activity.id, Grade.user_id.in_(ids))).scalars()}
    return [SubmissionRow(person, submissions.get(person.id), grades.get(person.id)) for person in people]
