"""Quiz questions and attempts: single-answer multiple choice, auto-graded, highest attempt counts."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func

from app.extensions import db
from app.models import Activity, QuizAttempt, QuizChoice, QuizQuestion, User
from app.models.base import utcnow
from app.services.courses.completion import mark_complete
from app.services.errors import ServiceError, ValidationErrors
from app.services.courses.gradebook import CENT, record_grade

MIN_CHOICES, MAX_CHOICES = 2, 10
MSG_REQUIRED = "Required"
MSG_CHOICE_COUNT = f"Give between {MIN_CHOICES} and {MAX_CHOICES} choices"
MSG_ONE_CORRECT = "Mark exactly one choice as correct."
MSG_NO_MORE_ATTEMPTS = "No more attempts are allowed"
MSG_NO_QUESTIONS = "This quiz has no questions yet"
MSG_ALREADY_SUBMITTED = "This attempt has already been submitted"
MSG_BAD_ANSWER = "An answer does not belong to its question. Reload the attempt and try again."


@dataclass
class ChoiceInput:
    text: str
    correct: bool = False


def save_question(activity: Activity, text: str, choices: list[ChoiceInput],
                  question: QuizQuestion | None = None) -> QuizQuestion:
    """Create (question None) or replace a question's text and choices; blank choice rows are ignored.

    Raises ValidationErrors keyed "text", "choices" (count) and "correct" (exactly one right answer).
    """
    errors: dict[str, str] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = MSG_REQUIRED
    filled = [ChoiceInput(choice.text.strip(), bool(choice.correct)) for choice in choices if choice.text.strip()]
    if not MIN_CHOICES <= len(filled) <= MAX_CHOICES:
        errors["choices"] = MSG_CHOICE_COUNT
    if sum(choice.correct for choice in filled) != 1 or any(c.correct and not c.text.strip() for c in choices):
        errors["correct"] = MSG_ONE_CORRECT
    if errors:
        raise ValidationErrors(errors)
    if question is None:
        last = db.session.execute(db.select(func.max(QuizQuestion.position))
                                  .where(QuizQuestion.activity_id == activity.id)).scalar()
        question = QuizQuestion(activity_id=activity.id, position=(last or 0) + 1, text=text)
        db.session.add(question)
    question.text = text
    # Keep choice rows (and their ids) in place so earlier attempts still point at the same answers.
    existing = list(question.choices)
    for index, choice in enumerate(filled):
        if index < len(existing):
            existing[index].text, existing[index].is_correct = choice.text, choice.correct
        else:
            question.choices.append(QuizChoice(text=choice.text, is_correct=choice.correct))
    for surplus in existing[len(filled):]:
        question.choices.remove(surplus)
    db.session.flush()
    return question


def delete_question(question: QuizQuestion) -> None:
    db.session.delete(question)
    db.session.flush()


def user_attempts(activity: Activity, user: User) -> list[QuizAttempt]:
    return list(db.session.execute(db.select(QuizAttempt).where(
        QuizAttempt.activity_id == activity.id, QuizAttempt.user_id == user.id)
        .order_by(QuizAttempt.number)).scalars())


def open_attempt(attempts: list[QuizAttempt]) -> QuizAttempt | None:
    return next((attempt for attempt in attempts if attempt.submitted_at is None), None)


def attempts_left(activity: Activity, attempts: list[QuizAttempt]) -> bool:
    return activity.attempts_allowed == 0 or len(attempts) < activity.attempts_allowed


def start_attempt(activity: Activity, user: User) -> QuizAttempt:
    """Continue the unfinished attempt if there is one; otherwise start the next, within the attempt limit."""
    attempts = user_attempts(activity, user)
    current = open_attempt(attempts)
    if current is not None:
        return current
    if not activity.questions:
        raise ServiceError(MSG_NO_QUESTIONS)
    if not attempts_left(activity, attempts):
        raise ServiceError(MSG_NO_MORE_ATTEMPTS)
    attempt = QuizAttempt(activity_id=activity.id, user_id=user.id, number=len(attempts) + 1, answers={})
    db.session.add(attempt)
    db.session.flush()
    return attempt


def score(activity: Activity, answers: dict[int, int]) -> Decimal:
    """Correct answers ÷ questions × maximum grade, to the hundredth."""
    questions = activity.questions
    correct = sum(1 for question in questions
                  if any(c.is_correct and c.id == answers.get(question.id) for c in question.choices))
    maximum = activity.max_grade or Decimal("0")
    return (Decimal(correct) / Decimal(len(questions)) * maximum).quantize(CENT, rounding=ROUND_HALF_UP)


def submit_attempt(activity: Activity, attempt: QuizAttempt, user: User, answers: dict[int, int]) -> QuizAttempt:
    """Finish the attempt: score it, make the highest submitted score the grade, and complete the quiz.

    `answers` maps question id → chosen choice id; unanswered questions count as wrong.
    """
    if attempt.submitted_at is not None:
        raise ServiceError(MSG_ALREADY_SUBMITTED)
    if not activity.questions:
        raise ServiceError(MSG_NO_QUESTIONS)
    for question in activity.questions:
        chosen = answers.get(question.id)
        if chosen is not None and chosen not in {choice.id for choice in question.choices}:
            raise ServiceError(MSG_BAD_ANSWER)
    attempt.answers = {str(question_id): choice_id for question_id, choice_id in answers.items()}
    attempt.score = score(activity, answers)
    attempt.submitted_at = utcnow()
    db.session.flush()
    best = max(a.score for a in user_attempts(activity, user) if a.submitted_at is not None and a.score is not None)
    # An attempt scored before the maximum grade was lowered must not make the grade invalid.
    record_grade(activity, user, min(best, activity.max_grade or best), feedback=None, grader=None)
    mark_complete(activity, user)
    return attempt


def chosen_choice(attempt: QuizAttempt, question: QuizQuestion) -> int | None:
    return (attempt.answers or {}).get(str(question.id))
