"""Quiz screens: the question editor, the quiz page, and answering or reviewing an attempt."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.courses.access import form_status, get_activity, require
from app.form_helpers import show_errors
from app.blueprints.courses.blueprint import bp
from app.blueprints.courses.forms import QuestionForm
from app.blueprints.courses.navigation import activity_context, activity_crumbs
from app.extensions import db
from app.limits import db_int, is_db_int
from app.models import Activity, QuizAttempt, QuizQuestion, User
from app.services.courses import gradebook
from app.services.courses import permissions
from app.services.courses import quiz
from app.services.errors import ServiceError


def render_quiz(activity: Activity, context: dict, error: str | None = None, status: int = 200):
    """The quiz page: its settings, the viewer's attempts and grade, and the attempt button or why there is none."""
    attempts = quiz.user_attempts(activity, current_user) if context["student"] else []
    staff = permissions.can_view_staff_pages(current_user, activity.course)
    return render_template(
        "courses/quiz.html", **context, attempts=attempts, error=error, staff=staff,
        open_attempt=quiz.open_attempt(attempts), attempts_left=quiz.attempts_left(activity, attempts),
        grade=gradebook.grade_for(activity, current_user) if context["student"] else None,
        all_attempts=_all_attempts(activity) if staff else []), status


def _all_attempts(activity: Activity) -> list[tuple[QuizAttempt, User]]:
    return [(attempt, user) for attempt, user in db.session.execute(
        db.select(QuizAttempt, User).join(User, User.id == QuizAttempt.user_id)
        .where(QuizAttempt.activity_id == activity.id)
        .order_by(User.last_name, User.first_name, QuizAttempt.number))]


def _manage_quiz(activity_id: int) -> Activity:
    activity = get_activity(activity_id, "quiz")
    require(permissions.can_manage_course(current_user, activity.course))
    return activity


def _question_in(activity: Activity, question_id: int | None) -> QuizQuestion | None:
    """The question being edited; a question of another quiz is a 404."""
    if question_id is None:
        return None
    question = db.session.get(QuizQuestion, question_id)
    if question is None or question.activity_id != activity.id:
        abort(404)
    return question


@bp.route("/activity/<int:activity_id>/questions", methods=["GET", "POST"])
@login_required
def quiz_questions(activity_id: int):
    """Add a question, or edit one with ?question={id}; every saved question is listed above the form."""
    activity = _manage_quiz(activity_id)
    question = _question_in(activity, request.args.get("question", type=db_int))
    form = QuestionForm()
    if question is not None and not form.is_submitted():
        form.text.data = question.text
        for entry, choice in zip(form.choices.entries, question.choices):
            entry.form.text.data, entry.form.correct.data = choice.text, choice.is_correct
    if form.validate_on_submit():
        choices = [quiz.ChoiceInput(entry.form.text.data or "", entry.form.correct.data)
                   for entry in form.choices.entries]
        try:
            quiz.save_question(activity, form.text.data or "", choices, question)
        except ServiceError as error:
            show_errors(form, error)
        else:
            db.session.commit()
            flash("Question saved", "success")
            return redirect(url_for("courses.quiz_questions", activity_id=activity.id))
    return render_template("courses/questions.html", activity=activity, form=form, question=question,
                           title=f"Questions: {activity.name}",
                           breadcrumbs=activity_crumbs(activity, ("Questions", None))), form_status()


@bp.post("/activity/<int:activity_id>/questions/<int:question_id>/delete")
@login_required
def delete_question(activity_id: int, question_id: int):
    activity = _manage_quiz(activity_id)
    quiz.delete_question(_question_in(activity, question_id))
    db.session.commit()
    flash("Question deleted", "success")
    return redirect(url_for("courses.quiz_questions", activity_id=activity.id))


def _attempting_student(activity_id: int) -> Activity:
    activity = get_activity(activity_id, "quiz")
    require(permissions.can_view_activity(current_user, activity)
            and permissions.is_activity_student(current_user, activity))
    return activity


@bp.post("/activity/<int:activity_id>/attempt")
@login_required
def start_attempt(activity_id: int):
    activity = _attempting_student(activity_id)
    try:
        attempt = quiz.start_attempt(activity, current_user)
    except ServiceError as error:
        return render_quiz(activity, activity_context(activity), error=error.message, status=error.status)
    db.session.commit()
    return redirect(url_for("courses.quiz_attempt", activity_id=activity.id, number=attempt.number))


def _answers() -> dict[int, int]:
    """question id → choice id from the radio groups named q{id}; anything not a number is a tampered form."""
    answers: dict[int, int] = {}
    for key, value in request.form.items():
        if key.startswith("q") and key[1:].isdigit():
            if not is_db_int(key[1:]) or not is_db_int(value):
                raise ServiceError(quiz.MSG_BAD_ANSWER)
            answers[int(key[1:])] = int(value)
    return answers


@bp.route("/activity/<int:activity_id>/attempt/<int:number>", methods=["GET", "POST"])
@login_required
def quiz_attempt(activity_id: int, number: int):
    """Answer an open attempt ("Submit all and finish"), or review a submitted one. Only the owner gets here."""
    activity = _attempting_student(activity_id)
    attempt = db.session.execute(db.select(QuizAttempt).where(
        QuizAttempt.activity_id == activity.id, QuizAttempt.user_id == current_user.id,
        QuizAttempt.number == number)).scalar_one_or_none()
    if attempt is None:
        abort(404)
    error = None
    if request.method == "POST":
        try:
            quiz.submit_attempt(activity, attempt, current_user, _answers())
        except ServiceError as failure:
            db.session.rollback()
            error = failure.message
        else:
            db.session.commit()
            flash(f"Attempt {attempt.number} submitted", "success")
            return redirect(url_for("courses.quiz_attempt", activity_id=activity.id, number=attempt.number))
    return render_template("courses/attempt.html", activity=activity, attempt=attempt, error=error,
                           chosen=lambda question: quiz.chosen_choice(attempt, question),
                           title=f"{activity.name}: attempt {attempt.number}",
                           breadcrumbs=activity_crumbs(activity, (f"Attempt {attempt.number}", None))
                           ), form_status()
