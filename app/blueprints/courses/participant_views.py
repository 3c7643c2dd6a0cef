"""Participants: who is in a course, and manual enrolment and unenrolment by teachers and admins."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from app.blueprints.courses.access import form_status, get_course, require
from app.form_helpers import show_errors
from app.blueprints.courses.blueprint import bp
from app.blueprints.courses.forms import EnrolForm
from app.templating import course_crumbs
from app.extensions import db
from app.models import Course, User
from app.models.courses import ROLE_LABELS
from app.services.courses import enrolments
from app.services.courses import permissions
from app.services.errors import ServiceError

MSG_CHOOSE_USER = "Choose a user"


def _managed_course(course_id: int) -> Course:
    course = get_course(course_id)
    require(permissions.can_manage_course(current_user, course))
    return course


def email_shown(user: User) -> bool:
    """Email visibility 0 hides the address from everyone but admins; 1 and 2 show it to course staff."""
    return current_user.is_site_admin or user.email_visibility != 0


@bp.get("/course/<int:course_id>/participants")
@login_required
def participants(course_id: int):
    course = _managed_course(course_id)
    return render_template("courses/participants.html", course=course, rows=enrolments.participants(course),
                           email_shown=email_shown, title=f"Participants: {course.full_name}",
                           breadcrumbs=course_crumbs(course, ("Participants", None)))


def _enrol_candidates() -> list[User]:
    """Everyone on the site: enrolling someone already manually enrolled changes their role."""
    return list(db.session.execute(db.select(User).order_by(User.last_name, User.first_name, User.username))
                .scalars())


@bp.route("/course/<int:course_id>/participants/enrol", methods=["GET", "POST"])
@login_required
def enrol(course_id: int):
    course = _managed_course(course_id)
    candidates = {user.id: user for user in _enrol_candidates()}
    form = EnrolForm()
    form.user.choices = [SelectChoice(0, "Choose a user…")] + [
        SelectChoice(user.id, f"{user.full_name} ({user.username})") for user in candidates.values()]
    if form.validate_on_submit():
        user = candidates.get(form.user.data)
        if user is None:
            form.user.errors = [MSG_CHOOSE_USER]
        else:
            try:
                enrolments.enrol_user(course, user, form.role.data)
            except ServiceError as error:
                show_errors(form, error)
            else:
                db.session.commit()
                flash(f"{user.full_name} enrolled as {ROLE_LABELS[form.role.data]}", "success")
                return redirect(url_for("courses.participants", course_id=course.id))
    return render_template("courses/enrol.html", course=course, form=form, title="Enrol users",
                           breadcrumbs=course_crumbs(course, ("Participants", url_for(
                               "courses.participants", course_id=course.id)), ("Enrol users", None))
                           ), form_status()


@bp.route("/course/<int:course_id>/participants/<int:user_id>/unenrol", methods=["GET", "POST"])
@login_required
def unenrol(course_id: int, user_id: int):
    course = _managed_course(course_id)
    user = db.session.get(User, user_id)
    if user is None or not enrolments.is_enrolled(course, user):
        abort(404)
    if request.method == "POST":  # CSRFProtect has already checked the token
        enrolments.unenrol_user(course, user)
        db.session.commit()
        flash(f"{user.full_name} unenrolled from {course.full_name}", "success")
        return redirect(url_for("courses.participants", course_id=course.id))
    return render_template(
        "courses/confirm.html", title="Unenrol",
        message=f"Unenrol {user.full_name} ({user.username}) from {course.full_name}? Their role assignments "
                "and every enrolment method are removed; grades and submissions are kept.",
        confirm_label="Unenrol", cancel_url=url_for("courses.participants", course_id=course.id),
        breadcrumbs=course_crumbs(course, ("Participants", url_for(
            "courses.participants", course_id=course.id)), ("Unenrol", None)))
