"""Courses, activities, quiz and assignment work, completion, enrolments and role assignments."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, UTCDateTime, partial_unique_index, utcnow

ACTIVITY_TYPES = ("page", "quiz", "assignment")
GRADED_TYPES = ("quiz", "assignment")
ROLE_TEACHER = "teacher"
ROLE_NONEDITING = "noneditingteacher"
ROLE_STUDENT = "student"
ROLES = (ROLE_TEACHER, ROLE_NONEDITING, ROLE_STUDENT)
ROLE_LABELS = {ROLE_TEACHER: "Teacher", ROLE_NONEDITING: "Non-editing teacher", ROLE_STUDENT: "Student"}


class Course(TimestampMixin, db.Model):
    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(254))
    short_name: Mapped[str] = mapped_column(String(100), unique=True)
    summary_html: Mapped[str] = mapped_column(Text, default="")
    visible: Mapped[bool] = mapped_column(default=True)
    grade_max: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("100"))

    activities: Mapped[list["Activity"]] = relationship(
        back_populates="course", order_by="Activity.position", cascade="all, delete-orphan")


class Activity(TimestampMixin, db.Model):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_course_position", "course_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    description_html: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    visible: Mapped[bool] = mapped_column(default=True)
    max_grade: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    content_html: Mapped[str] = mapped_column(Text, default="")
    attempts_allowed: Mapped[int] = mapped_column(default=0)
    instructions_html: Mapped[str] = mapped_column(Text, default="")

    course: Mapped[Course] = relationship(back_populates="activities")
    questions: Mapped[list["QuizQuestion"]] = relationship(
        back_populates="activity", order_by="QuizQuestion.position", cascade="all, delete-orphan")

    @property
    def is_graded(self) -> bool:
        return self.type in GRADED_TYPES


class QuizQuestion(TimestampMixin, db.Model):
    __tablename__ = "quiz_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)

    activity: Mapped[Activity] = relationship(back_populates="questions")
    choices: Mapped[list["QuizChoice"]] = relationship(
        back_populates="question", order_by="QuizChoice.id", cascade="all, delete-orphan")


class QuizChoice(TimestampMixin, db.Model):
    __tablename__ = "quiz_choice"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_question.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    is_correct: Mapped[bool] = mapped_column(default=False)

    question: Mapped[QuizQuestion] = relationship(back_populates="choices")


class QuizAttempt(TimestampMixin, db.Model):
    __tablename__ = "quiz_attempt"
    __table_args__ = (UniqueConstraint("activity_id", "user_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AssignmentSubmission(TimestampMixin, db.Model):
    __tablename__ = "assignment_submission"
    __table_args__ = (UniqueConstraint("activity_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    text_html: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActivityCompletion(TimestampMixin, db.Model):
    __tablename__ = "activity_completion"
    __table_args__ = (UniqueConstraint("activity_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrolment(TimestampMixin, db.Model):
    """How a user came into a course: manually (no resource) or through one published resource."""

    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("published_resource_id", "user_id"),
        partial_unique_index("uq_enrolment_manual", "course_id", "user_id", where="published_resource_id IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    published_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("published_resource.id", ondelete="CASCADE"))
    time_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_end: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list["RoleAssignment"]] = relationship(back_populates="enrolment", cascade="all, delete-orphan")


class RoleAssignment(TimestampMixin, db.Model):
    """A role at course level (activity_id NULL) or, for activity publications, at one activity only."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "activity_id"),
        partial_unique_index("uq_role_assignment_course_level", "enrolment_id", where="activity_id IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))

    enrolment: Mapped[Enrolment] = relationship(back_populates="roles")
