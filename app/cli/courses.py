"""`flask --app wsgi courses …`: the same services and messages as the screens."""
from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from app.cli.output import emit, json_option
from app.extensions import db
from app.models import Activity, Course
from app.models.courses import ACTIVITY_TYPES, ROLE_LABELS, ROLES
from app.services.courses import content as courses
from app.services.courses import enrolments
from app.services.courses import gradebook
from app.services.accounts.users import get_user_by_username
from app.services.errors import ValidationErrors

courses_cli = AppGroup("courses", help="Courses: create, list, add activities, enrol, unenrol, grade.")


def course_summary(course: Course) -> dict[str, Any]:
    return {"id": course.id, "short_name": course.short_name, "full_name": course.full_name,
            "visible": course.visible, "grade_max": course.grade_max, "activities": len(course.activities)}


def activity_summary(activity: Activity) -> dict[str, Any]:
    return {"id": activity.id, "course": activity.course.short_name, "type": activity.type, "name": activity.name,
            "position": activity.position, "max_grade": activity.max_grade, "visible": activity.visible}


@courses_cli.command("create")
@click.argument("shortname")
@click.option("--fullname", required=True, help="Course full name.")
@json_option
def create(shortname: str, fullname: str, as_json: bool) -> None:
    """Create a visible course with a course total out of 100."""
    course = courses.create_course(courses.CourseFields(full_name=fullname, short_name=shortname))
    db.session.commit()
    emit(course_summary(course), as_json, f"Created course {course.short_name} (id {course.id}).")


@courses_cli.command("list")
@json_option
def list_courses(as_json: bool) -> None:
    """Every course, by short name."""
    rows = db.session.execute(db.select(Course).order_by(Course.short_name)).scalars().all()
    emit([course_summary(course) for course in rows], as_json,
         lambda: "\n".join(f"{c.id}\t{c.short_name}\t{c.full_name}\t{'Show' if c.visible else 'Hide'}"
                           for c in rows) or "(no courses)")


@courses_cli.command("add-activity")
@click.argument("shortname")
@click.option("--type", "activity_type", required=True, metavar="|".join(ACTIVITY_TYPES),
              help="page, quiz or assignment.")
@click.option("--name", required=True, help="Activity name.")
@click.option("--max-grade", help="Maximum grade for a quiz (default 10) or an assignment (default 100).")
@json_option
def add_activity(shortname: str, activity_type: str, name: str, max_grade: str | None, as_json: bool) -> None:
    """Add a page, quiz or assignment at the end of a course (quiz questions are added on the web)."""
    course = courses.course_by_short_name(shortname)
    if max_grade is not None and activity_type == "page":
        raise ValidationErrors({"max_grade": "A page has no grade"})
    activity = courses.create_activity(course, activity_type, courses.ActivityFields(name=name, max_grade=max_grade))
    db.session.commit()
    emit(activity_summary(activity), as_json,
         f"Added {activity.type} {activity.name} (id {activity.id}) to {course.short_name}.")


@courses_cli.command("enrol")
@click.argument("shortname")
@click.argument("username")
@click.option("--role", required=True, metavar="|".join(ROLES), help="teacher, noneditingteacher or student.")
@json_option
def enrol(shortname: str, username: str, role: str, as_json: bool) -> None:
    """Enrol manually with a course-level role (enrolling again changes the role)."""
    course = courses.course_by_short_name(shortname)
    user = get_user_by_username(username)
    enrolment = enrolments.enrol_user(course, user, role)
    db.session.commit()
    emit({"course": course.short_name, "username": user.username, "role": role, "enrolment_id": enrolment.id},
         as_json, f"Enrolled {user.username} in {course.short_name} as {ROLE_LABELS[role]}.")


@courses_cli.command("unenrol")
@click.argument("shortname")
@click.argument("username")
@json_option
def unenrol(shortname: str, username: str, as_json: bool) -> None:
    """Remove every enrolment (manual and LTI) the user has in the course; grades are kept."""
    course = courses.course_by_short_name(shortname)
    user = get_user_by_username(username)
    enrolments.unenrol_user(course, user)
    db.session.commit()
    emit({"course": course.short_name, "username": user.username, "unenrolled": True}, as_json,
         f"Unenrolled {user.username} from {course.short_name}.")


@courses_cli.command("grade")
@click.argument("shortname")
@click.option("--activity", "activity_name", required=True, help="Activity name.")
@click.option("--user", "username", required=True, help="The student's username.")
@click.option("--grade", "value", required=True, help="0 to the activity's maximum grade.")
@click.option("--feedback", help="Feedback comments (left unchanged when omitted).")
@json_option
def grade(shortname: str, activity_name: str, username: str, value: str, feedback: str | None,
          as_json: bool) -> None:
    """Set a teacher's grade exactly as the grading screen does (no grader account: recorded as the site)."""
    course = courses.course_by_short_name(shortname)
    activity = courses.activity_by_name(course, activity_name)
    student = get_user_by_username(username)
    result = gradebook.grade_by_teacher(activity, student, value, feedback=feedback, grader=None)
    db.session.commit()
    emit({"course": course.short_name, "activity": activity.name, "username": student.username,
          "grade": result.value, "max_grade": activity.max_grade, "feedback": result.feedback,
          "changed_at": result.changed_at}, as_json,
         f"Grade for {student.username} in {activity.name}: {gradebook.format_points(result.value)} / "
         f"{gradebook.format_points(activity.max_grade)}.")
