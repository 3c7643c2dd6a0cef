"""Assignment screens: the student's online text, the teacher's submission list and grading."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.blueprints.courses.access import form_status, get_activity, require
from app.form_helpers import show_errors
from app.blueprints.courses.blueprint import bp
from app.blueprints.courses.forms import RICH_TEXT_HELP, GradeForm, SubmissionForm
from app.blueprints.courses.navigation import activity_context, activity_crumbs
from app.extensions import db
from app.models import Activity, User
from app.services.courses import assignments
from app.services.courses import enrolments
from app.services.courses import gradebook
from app.services.courses import permissions
from app.services.errors import ServiceError


def render_assignment(activity: Activity, context: dict, form: SubmissionForm | None = None, status: int = 200):
    """Students see their submission, its status and feedback; teachers a summary and the way to grade."""
    submission = grade = None
    if context["student"]:
        submission = assignments.submission_for(activity, current_user)
        grade = gradebook.grade_for(activity, current_user)
        if form is None:
            form = SubmissionForm(text=submission.text_html if submission else "")
    rows = assignments.submission_rows(activity) if context["can_manage"] else []
    return render_template("courses/assignment.html", **context, submission=submission, grade=grade, form=form,
                           graded=grade is not None and grade.value is not None, rows=rows,
                           rich_text_help=RICH_TEXT_HELP), status


@bp.post("/activity/<int:activity_id>/submission")
@login_required
def save_submission(activity_id: int):
    activity = get_activity(activity_id, "assignment")
    require(permissions.can_view_activity(current_user, activity)
            and permissions.is_activity_student(current_user, activity))
    form = SubmissionForm()
    if form.validate_on_submit():
        try:
            assignments.save_submission(activity, current_user, form.text.data or "")
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved", "success")
            return redirect(url_for("courses.view_activity", activity_id=activity.id))
    return render_assignment(activity, activity_context(activity), form=form, status=400)


def _graded_assignment(activity_id: int) -> Activity:
    activity = get_activity(activity_id, "assignment")
    require(permissions.can_manage_course(current_user, activity.course))
    return activity


@bp.get("/activity/<int:activity_id>/submissions")
@login_required
def submissions(activity_id: int):
    activity = _graded_assignment(activity_id)
    return render_template("courses/submissions.html", activity=activity,
                           rows=assignments.submission_rows(activity), title=f"Submissions: {activity.name}",
                           breadcrumbs=activity_crumbs(activity, ("Submissions", None)))


@bp.route("/activity/<int:activity_id>/grade/<int:user_id>", methods=["GET", "POST"])
@login_required
def grade_submission(activity_id: int, user_id: int):
    activity = _graded_assignment(activity_id)
    student = db.session.get(User, user_id)
    if student is None or student.id not in enrolments.student_ids(activity.course, activity):
        abort(404)
    grade = gradebook.grade_for(activity, student)
    form = GradeForm()
    if not form.is_submitted() and grade is not None:
        form.grade.data = gradebook.format_points(grade.value) if grade.value is not None else ""
        form.feedback.data = grade.feedback
    if form.validate_on_submit():
        try:
            gradebook.grade_by_teacher(activity, student, form.grade.data, feedback=form.feedback.data or "",
                                       grader=current_user)
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash(f"Grade saved for {student.full_name}", "success")
            return redirect(url_for("courses.submissions", activity_id=activity.id))
    return render_template("courses/grade.html", activity=activity, student=student, form=form,
                           submission=assignments.submission_for(activity, student),
                           max_grade=gradebook.format_points(activity.max_grade),
                           title=f"Grade {student.full_name}",
                           breadcrumbs=activity_crumbs(activity, ("Submissions", url_for(
                               "courses.submissions", activity_id=activity.id)), (student.full_name, None))
                           ), form_status()
