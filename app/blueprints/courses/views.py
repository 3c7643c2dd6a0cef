"""Course list, course page and course CRUD; the other course screens live beside this module."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.courses import (  # noqa: F401  (importing them adds their routes to bp)
    activity_views, assignment_views, gradebook_views, participant_views, quiz_views,
)
from app.blueprints.courses.access import form_status, get_course, require
from app.form_helpers import show_errors
from app.blueprints.courses.blueprint import bp
from app.blueprints.courses.forms import CourseForm
from app.templating import course_crumbs
from app.extensions import db
from app.models import Course
from app.models.courses import ROLE_STUDENT
from app.security import admin_required
from app.services.courses import completion
from app.services.courses import content as courses
from app.services.courses import permissions
from app.services.errors import ServiceError
from app.services.courses.gradebook import format_points

__all__ = ["bp"]


@bp.get("/courses")
@login_required
def course_list():
    """Visible courses, or every course for admins."""
    query = db.select(Course).order_by(Course.full_name)
    if not current_user.is_site_admin:
        query = query.where(Course.visible.is_(True))
    rows = [(course, permissions.can_view_course(current_user, course))
            for course in db.session.execute(query).scalars()]
    return render_template("courses/list.html", title="Courses", rows=rows, breadcrumbs=[("Courses", None)])


def _course_fields(form: CourseForm) -> courses.CourseFields:
    return courses.CourseFields(full_name=form.full_name.data or "", short_name=form.short_name.data or "",
                                summary_html=form.summary_html.data or "", visible=form.visible.data == "1",
                                grade_max=form.grade_max.data or "")


@bp.route("/course/new", methods=["GET", "POST"])
@admin_required
def new_course():
    form = CourseForm()
    if form.validate_on_submit():
        try:
            course = courses.create_course(_course_fields(form))
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash(f"Course {course.full_name} created", "success")
            return redirect(url_for("courses.view_course", course_id=course.id))
    return render_template("courses/course_form.html", form=form, title="Add a new course",
                           cancel_url=url_for("courses.course_list"),
                           breadcrumbs=[("Courses", url_for("courses.course_list")), ("Add a new course", None)]
                           ), form_status()


@bp.route("/course/<int:course_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_course(course_id: int):
    course = get_course(course_id)
    form = CourseForm(obj=course)
    if not form.is_submitted():
        form.visible.data = "1" if course.visible else "0"
        form.grade_max.data = format_points(course.grade_max)
    if form.validate_on_submit():
        try:
            courses.update_course(course, _course_fields(form))
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved", "success")
            return redirect(url_for("courses.view_course", course_id=course.id))
    return render_template("courses/course_form.html", form=form, title="Edit course settings", course=course,
                           cancel_url=url_for("courses.view_course", course_id=course.id),
                           breadcrumbs=course_crumbs(course, ("Edit course settings", None))), form_status()


@bp.route("/course/<int:course_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_course(course_id: int):
    course = get_course(course_id)
    if request.method == "POST":  # CSRFProtect has already checked the token
        name = course.full_name
        courses.delete_course(course)
        db.session.commit()
        flash(f"Course {name} deleted", "success")
        return redirect(url_for("courses.course_list"))
    return render_template(
        "courses/confirm.html", title="Delete course",
        message=(f"Delete {course.full_name} ({course.short_name})? All its activities, enrolments, grades and "
                 "published resources will be deleted."),
        confirm_label="Delete", cancel_url=url_for("courses.view_course", course_id=course.id),
        breadcrumbs=course_crumbs(course, ("Delete course", None)))


@bp.get("/course/<int:course_id>")
@login_required
def view_course(course_id: int):
    course = get_course(course_id)
    require(permissions.can_view_course(current_user, course))
    staff = permissions.can_view_staff_pages(current_user, course)
    learner = permissions.course_role(current_user, course.id) == ROLE_STUDENT
    shown = course.activities if staff else courses.visible_activities(course)
    return render_template(
        "courses/course.html", course=course, activities=shown, staff=staff, learner=learner,
        can_manage=permissions.can_manage_course(current_user, course),
        completed=completion.completed_activity_ids(course, current_user) if learner else set(),
        course_complete=learner and completion.is_course_complete(course, current_user),
        title=course.full_name, breadcrumbs=course_crumbs(course))
