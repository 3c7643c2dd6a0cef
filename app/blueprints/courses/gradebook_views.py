"""The teacher gradebook and a student's "My grades"."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from app.blueprints.courses.access import get_course, require
from app.blueprints.courses.blueprint import bp
from app.templating import course_crumbs
from app.services.courses import content as courses
from app.services.courses import gradebook
from app.services.courses import permissions


@bp.get("/course/<int:course_id>/grades", endpoint="gradebook")
@login_required
def gradebook_view(course_id: int):
    course = get_course(course_id)
    require(permissions.can_view_staff_pages(current_user, course))
    activities, rows = gradebook.gradebook(course)
    return render_template("courses/gradebook.html", course=course, activities=activities, rows=rows,
                           can_grade=permissions.can_manage_course(current_user, course),
                           title=f"Grades: {course.full_name}", breadcrumbs=course_crumbs(course, ("Grades", None)))


@bp.get("/course/<int:course_id>/grades/me")
@login_required
def my_grades(course_id: int):
    """Course-level viewers see every visible graded activity and the course total; activity-only roles their own
    activities' grades."""
    course = get_course(course_id)
    whole_course = permissions.can_view_course(current_user, course)
    shown = [activity for activity in courses.graded_activities(course)
             if permissions.can_view_activity(current_user, activity)
             and (activity.visible or permissions.can_view_staff_pages(current_user, course))]
    require(whole_course or bool(shown))
    return render_template("courses/my_grades.html", course=course, activities=shown,
                           grades=gradebook.user_grades(course, current_user),
                           total=gradebook.course_total(course, current_user) if whole_course else None,
                           whole_course=whole_course, title="My grades",
                           breadcrumbs=course_crumbs(course, ("My grades", None)) if whole_course else [])
