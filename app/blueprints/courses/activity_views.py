"""Adding, editing, deleting and viewing activities."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.courses.access import form_status, get_activity, get_course, require, viewed_activity
from app.form_helpers import show_errors
from app.blueprints.courses.assignment_views import render_assignment
from app.blueprints.courses.blueprint import bp
from app.blueprints.courses.forms import ACTIVITY_FORMS, ActivityForm, RICH_TEXT_HELP
from app.blueprints.courses.navigation import activity_context, activity_crumbs
from app.templating import course_crumbs
from app.blueprints.courses.quiz_views import render_quiz
from app.extensions import db
from app.services.courses import completion
from app.services.courses import content as courses
from app.services.courses import permissions
from app.services.courses.content import TYPE_LABELS
from app.services.errors import ServiceError
from app.services.courses.gradebook import format_points

HELPS = {
    "description_html": RICH_TEXT_HELP,
    "content_html": RICH_TEXT_HELP,
    "instructions_html": RICH_TEXT_HELP,
    "max_grade": "A number greater than 0.",
}


def _fields(form: ActivityForm) -> courses.ActivityFields:
    return courses.ActivityFields(**{name: field.data for name, field in form._fields.items()
                                     if name in courses.ActivityFields.__dataclass_fields__})


@bp.route("/course/<int:course_id>/activity/new", methods=["GET", "POST"])
@login_required
def new_activity(course_id: int):
    course = get_course(course_id)
    require(permissions.can_manage_course(current_user, course))
    activity_type = request.args.get("type", "")
    if activity_type not in ACTIVITY_FORMS:
        abort(404)
    form = ACTIVITY_FORMS[activity_type]()
    if form.validate_on_submit():
        try:
            activity = courses.create_activity(course, activity_type, _fields(form))
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash(f"{TYPE_LABELS[activity_type]} {activity.name} added", "success")
            if activity_type == "quiz":
                return redirect(url_for("courses.quiz_questions", activity_id=activity.id))
            return redirect(url_for("courses.view_course", course_id=course.id))
    title = f"Adding a new {TYPE_LABELS[activity_type]}"
    return render_template("courses/activity_form.html", form=form, title=title, helps=HELPS,
                           cancel_url=url_for("courses.view_course", course_id=course.id),
                           breadcrumbs=course_crumbs(course, (title, None))), form_status()


@bp.route("/activity/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def edit_activity(activity_id: int):
    activity = get_activity(activity_id)
    require(permissions.can_manage_course(current_user, activity.course))
    form = ACTIVITY_FORMS[activity.type](obj=activity)
    if activity.is_graded and not form.is_submitted():
        form.max_grade.data = format_points(activity.max_grade)
    if form.validate_on_submit():
        try:
            courses.update_activity(activity, _fields(form))
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved", "success")
            return redirect(url_for("courses.view_activity", activity_id=activity.id))
    title = f"Updating {TYPE_LABELS[activity.type]}: {activity.name}"
    return render_template("courses/activity_form.html", form=form, title=title, helps=HELPS,
                           cancel_url=url_for("courses.view_activity", activity_id=activity.id),
                           breadcrumbs=activity_crumbs(activity, ("Edit settings", None))), form_status()


@bp.route("/activity/<int:activity_id>/delete", methods=["GET", "POST"])
@login_required
def delete_activity(activity_id: int):
    activity = get_activity(activity_id)
    course = activity.course
    require(permissions.can_manage_course(current_user, course))
    if request.method == "POST":  # CSRFProtect has already checked the token
        name = activity.name
        courses.delete_activity(activity)
        db.session.commit()
        flash(f"{name} deleted", "success")
        return redirect(url_for("courses.view_course", course_id=course.id))
    return render_template(
        "courses/confirm.html", title=f"Delete {TYPE_LABELS[activity.type]}",
        message=f"Delete {activity.name}? All attempts, submissions and grades in it will be deleted.",
        confirm_label="Delete", cancel_url=url_for("courses.view_course", course_id=course.id),
        breadcrumbs=activity_crumbs(activity, ("Delete", None)))


@bp.get("/activity/<int:activity_id>")
@login_required
def view_activity(activity_id: int):
    activity, completed_before = viewed_activity(activity_id, current_user.id)
    require(permissions.can_view_activity(current_user, activity))
    if activity.type == "quiz":
        return render_quiz(activity, activity_context(activity))
    if activity.type == "assignment":
        return render_assignment(activity, activity_context(activity))
    context = activity_context(activity)
    # Viewing is what completes a page: the one write a GET makes, and only the first time. The page
    # is rendered first because a commit expires every loaded row, which the template would then load again.
    completed = context["student"] and not completed_before and completion.record_completion(activity, current_user)
    page = render_template("courses/page.html", **context)
    if completed:
        db.session.commit()
    return page
