"""Activities: forms, permissions, sanitising, page completion, deletion; quizzes and assignments."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import event

from app.models import (
    Activity, ActivityCompletion, AssignmentSubmission, Grade, PublishedResource, QuizAttempt, QuizChoice,
    QuizQuestion,
)
from tests.factories import make_activity, make_quiz, make_resource
from tests.helpers import csrf_token, login, post_form
from tests.postgres import SQLITE_ONLY
from tests.web.course_world import field_errors, switch_user, world  # noqa: F401  (fixture)

XSS = ('<p>Hello</p><script>alert("pwned")</script><img src="x.png" onerror="alert(2)">'
       '<a href="javascript:alert(3)">x</a>')


def _completed(db, activity, user) -> bool:
    db.session.expire_all()
    return db.session.query(ActivityCompletion).filter_by(activity_id=activity.id, user_id=user.id).count() == 1


def _assert_clean(html: str) -> None:
    own_scripts = re.compile(r'<script src="/static/js/[a-z_]+\.js" defer></script>')
    assert "<script" not in own_scripts.sub("", html)
    assert "onerror" not in html and "javascript:alert" not in html


# ---------------------------------------------------------------- adding and editing

@pytest.mark.parametrize("activity_type, data, expected", [
    ("page", {"name": "Intro", "content_html": "<h2>Hi</h2>", "visible": "y"},
     {"type": "page", "content_html": "<h2>Hi</h2>", "max_grade": None}),
    ("quiz", {"name": "Q", "max_grade": "20", "attempts_allowed": "2", "visible": "y"},
     {"type": "quiz", "max_grade": Decimal("20"), "attempts_allowed": 2}),
    ("assignment", {"name": "Essay", "instructions_html": "<p>Write</p>", "max_grade": "100"},
     {"type": "assignment", "instructions_html": "<p>Write</p>", "visible": False}),
])
def test_teacher_adds_each_activity_type(client, db, world, activity_type, data, expected):
    login(client, "teach")
    response = post_form(client, f"/course/{world.course.id}/activity/new?type={activity_type}", data)
    assert response.status_code == 302
    activity = db.session.execute(db.select(Activity)).scalar_one()
    for name, value in expected.items():
        assert getattr(activity, name) == value, name
    if activity_type == "quiz":  # a new quiz goes straight to its question editor
        assert response.headers["Location"] == f"/activity/{activity.id}/questions"


def test_new_quiz_form_shows_the_defaults(client, world):
    login(client, "teach")
    page = client.get(f"/course/{world.course.id}/activity/new?type=quiz").get_data(as_text=True)
    assert 'id="max_grade" name="max_grade" type="text" value="10"' in page
    assert '<option selected value="0">Unlimited</option>' in page
    assert "Attempts allowed" in page and "Maximum grade" in page


@pytest.mark.parametrize("activity_type, data, field, message", [
    ("page", {"name": ""}, "name", "Required"),
    ("page", {"name": "n" * 256}, "name", "Maximum of 255 characters"),
    ("quiz", {"name": "Q", "max_grade": "0"}, "max_grade", "Enter a number greater than 0"),
    ("quiz", {"name": "Q", "max_grade": "ten"}, "max_grade", "Enter a number greater than 0"),
    ("quiz", {"name": "Q", "max_grade": "10", "attempts_allowed": "-1"}, "attempts_allowed", "Not a valid choice."),
    ("assignment", {"name": "E", "max_grade": "-5"}, "max_grade", "Enter a number greater than 0"),
])
def test_activity_form_rejects_bad_input(client, db, world, activity_type, data, field, message):
    login(client, "teach")
    response = post_form(client, f"/course/{world.course.id}/activity/new?type={activity_type}", data)
    assert response.status_code == 400
    assert field_errors(response)[field] == message
    db.session.expire_all()
    assert db.session.query(Activity).count() == 0


def test_unknown_activity_type_is_404(client, world):
    login(client, "teach")
    assert client.get(f"/course/{world.course.id}/activity/new?type=forum").status_code == 404


@pytest.mark.parametrize("username", ["assist", "stud", "other"])
def test_only_teachers_and_admins_edit_activities(client, world, username):
    activity = make_activity(world.course, "page", "Intro")
    login(client, username)
    for path in (f"/course/{world.course.id}/activity/new?type=page", f"/activity/{activity.id}/edit",
                 f"/activity/{activity.id}/delete"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    assert client.post(f"/activity/{activity.id}/delete", data={"csrf_token": token}).status_code == 403


def test_teacher_edits_an_activity(client, db, world):
    quiz = make_activity(world.course, "quiz", "Quiz 1")
    login(client, "teach")
    page = client.get(f"/activity/{quiz.id}/edit").get_data(as_text=True)
    assert 'value="Quiz 1"' in page
    response = post_form(client, f"/activity/{quiz.id}/edit",
                         {"name": "Quiz one", "max_grade": "7.5", "attempts_allowed": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    quiz = db.session.get(Activity, quiz.id)
    assert (quiz.name, quiz.max_grade, quiz.attempts_allowed, quiz.visible) == ("Quiz one", Decimal("7.5"), 1, False)


def test_unknown_activity_ids_are_404(client, world):
    login(client, "admin")
    for path in ("/activity/999", "/activity/999/edit", "/activity/999/delete", "/activity/999/questions",
                 "/activity/999/submissions", f"/activity/999/grade/{world.student.id}"):
        assert client.get(path).status_code == 404, path


# ---------------------------------------------------------------- sanitising

def test_page_content_is_sanitised_on_save_and_never_reaches_the_browser(client, db, world):
    login(client, "teach")
    response = post_form(client, f"/course/{world.course.id}/activity/new?type=page",
                         {"name": "Intro", "content_html": XSS, "description_html": XSS, "visible": "y"})
    assert response.status_code == 302
    activity = db.session.execute(db.select(Activity)).scalar_one()
    assert "script" not in activity.content_html and "onerror" not in activity.description_html
    switch_user(client, "stud")
    html = client.get(f"/activity/{activity.id}").get_data(as_text=True)
    assert "<p>Hello</p>" in html
    _assert_clean(html)
    _assert_clean(client.get(f"/course/{world.course.id}").get_data(as_text=True))


def test_stored_html_is_sanitised_again_when_shown(client, db, world):
    """Rows written around the service (an import, a hand edit) are still cleaned on the way out."""
    page = make_activity(world.course, "page", "Intro")
    page.content_html = XSS
    page.description_html = XSS
    world.course.summary_html = XSS
    db.session.commit()
    login(client, "stud")
    _assert_clean(client.get(f"/activity/{page.id}").get_data(as_text=True))
    _assert_clean(client.get(f"/course/{world.course.id}").get_data(as_text=True))


# ---------------------------------------------------------------- viewing and page completion

@SQLITE_ONLY
def test_a_repeat_view_of_a_page_reads_once_each_and_writes_nothing(client, db, world):
    """On SQLite even an insert that ends up doing nothing takes the database's write lock: a page already
    completed is only read."""
    page = make_activity(world.course, "page", "Intro", content_html="<p>Read me</p>")
    login(client, "stud")
    client.get(f"/activity/{page.id}")  # the first view also records completion
    seen: list[str] = []  # as SQLite runs them (driver-level statements bypass SQLAlchemy's events)
    event.listen(db.engine, "checkout", lambda connection, *_: connection.set_trace_callback(seen.append))
    assert "Read me" in client.get(f"/activity/{page.id}").get_data(as_text=True)
    tables = [statement.split(" FROM ", 1)[1].split()[0] for statement in seen if statement.startswith("SELECT")]
    # The user; the activity with its course, the viewer's completion and roles in the course.
    assert sorted(tables) == sorted(['"user"', "activity_completion"]), seen
    assert any("FROM activity a JOIN course c" in statement and "role_assignment" in statement
               for statement in seen), seen
    assert [statement for statement in seen if not statement.startswith("SELECT")] == [], seen


def test_viewing_a_page_completes_it_for_students_only(client, db, world):
    page = make_activity(world.course, "page", "Intro", content_html="<p>Read me</p>")
    login(client, "teach")
    assert client.get(f"/activity/{page.id}").status_code == 200
    assert not _completed(db, page, world.teacher)
    switch_user(client, "stud")
    assert "To do" in client.get(f"/course/{world.course.id}").get_data(as_text=True)
    assert "Read me" in client.get(f"/activity/{page.id}").get_data(as_text=True)
    assert _completed(db, page, world.student)
    client.get(f"/activity/{page.id}")
    assert _completed(db, page, world.student)  # still one row
    course_page = client.get(f"/course/{world.course.id}").get_data(as_text=True)
    assert "Done" in course_page and "Completed" in course_page and "Not completed" not in course_page


def test_students_cannot_open_hidden_activities_or_hidden_courses(client, db, world):
    hidden = make_activity(world.course, "page", "Draft", visible=False)
    shown = make_activity(world.course, "page", "Intro")
    login(client, "stud")
    assert client.get(f"/activity/{hidden.id}").status_code == 403
    assert client.get(f"/activity/{shown.id}").status_code == 200
    world.course.visible = False
    db.session.commit()
    assert client.get(f"/activity/{shown.id}").status_code == 403
    switch_user(client, "assist")
    assert client.get(f"/activity/{hidden.id}").status_code == 200


def test_activity_only_role_sees_only_its_activity(client, world):
    quiz = make_quiz(world.course, "Quiz 1")
    page = make_activity(world.course, "page", "Intro")
    world.activity_only(quiz)
    login(client, "visitor")
    assert client.get(f"/activity/{quiz.id}").status_code == 200
    assert client.get(f"/activity/{page.id}").status_code == 403
    assert client.get(f"/course/{world.course.id}/grades").status_code == 403
    response = client.get(f"/course/{world.course.id}/grades/me")
    assert response.status_code == 200 and "Quiz 1" in response.get_data(as_text=True)
    assert "Intro" not in response.get_data(as_text=True) and "Course total" not in response.get_data(as_text=True)


def test_outsiders_get_403(client, world):
    page = make_activity(world.course, "page", "Intro")
    login(client, "other")
    assert client.get(f"/activity/{page.id}").status_code == 403


# ---------------------------------------------------------------- deleting

def test_deleting_an_activity_disables_its_resources_and_removes_its_work(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1")
    quiz_id = quiz.id
    resource = make_resource(world.course, quiz)
    course_resource = make_resource(world.course)
    from app.services.courses.quiz import start_attempt, submit_attempt

    submit_attempt(quiz, start_attempt(quiz, world.student), world.student, {})
    db.session.commit()
    login(client, "teach")
    path = f"/activity/{quiz_id}/delete"
    assert ("Delete Quiz 1? All attempts, submissions and grades in it will be deleted."
            in client.get(path).get_data(as_text=True))
    assert client.post(path).status_code == 400  # without CSRF nothing happens
    response = post_form(client, path)
    assert response.status_code == 302 and response.headers["Location"] == f"/course/{world.course.id}"
    db.session.expire_all()
    assert db.session.get(Activity, quiz_id) is None
    resource = db.session.get(PublishedResource, resource.id)
    assert resource.enabled is False and resource.activity_id is None and resource.activity_deleted
    assert db.session.get(PublishedResource, course_resource.id).enabled is True
    for model in (QuizQuestion, QuizChoice, QuizAttempt, Grade, ActivityCompletion):
        assert db.session.query(model).count() == 0, model.__name__


# ---------------------------------------------------------------- quiz questions

def _question(text="What is 2 + 2?", choices=("3", "4", "", ""), correct=(1,)):
    data = {"text": text}
    for index, choice in enumerate(choices):
        data[f"choices-{index}-text"] = choice
        if index in correct:
            data[f"choices-{index}-correct"] = "y"
    return data


def test_teacher_adds_and_edits_a_question(client, db, world):
    quiz = make_activity(world.course, "quiz", "Quiz 1")
    login(client, "teach")
    path = f"/activity/{quiz.id}/questions"
    response = post_form(client, path, _question())
    assert response.status_code == 302
    question = db.session.execute(db.select(QuizQuestion)).scalar_one()
    assert [(c.text, c.is_correct) for c in question.choices] == [("3", False), ("4", True)]
    kept_id = question.choices[1].id
    edit = f"{path}?question={question.id}"
    assert 'value="4"' in client.get(edit).get_data(as_text=True)
    response = post_form(client, edit, _question("What is 2 + 3?", ("4", "5", "6"), (1,)))
    assert response.status_code == 302
    db.session.expire_all()
    question = db.session.get(QuizQuestion, question.id)
    assert question.text == "What is 2 + 3?"
    assert [(c.text, c.is_correct) for c in question.choices] == [("4", False), ("5", True), ("6", False)]
    assert question.choices[1].id == kept_id


@pytest.mark.parametrize("data, field, message", [
    (_question(text=""), "text", "Required"),
    (_question(choices=("only one", ""), correct=(0,)), "choices", "Give between 2 and 10 choices"),
    (_question(correct=()), "choices", "Mark exactly one choice as correct."),
    (_question(correct=(0, 1)), "choices", "Mark exactly one choice as correct."),
    (_question(correct=(2,)), "choices", "Mark exactly one choice as correct."),  # a blank row marked correct
])
def test_question_form_rejects_bad_input(client, db, world, data, field, message):
    quiz = make_activity(world.course, "quiz", "Quiz 1")
    login(client, "teach")
    response = post_form(client, f"/activity/{quiz.id}/questions", data)
    assert response.status_code == 400
    assert message in field_errors(response)[field]
    db.session.expire_all()
    assert db.session.query(QuizQuestion).count() == 0 and db.session.query(QuizChoice).count() == 0


def test_more_than_ten_choices_are_refused_by_the_service(db, world):
    from app.services.errors import ValidationErrors
    from app.services.courses.quiz import ChoiceInput, save_question

    quiz = make_activity(world.course, "quiz", "Quiz 1")
    with pytest.raises(ValidationErrors) as error:
        save_question(quiz, "Pick", [ChoiceInput(str(n), n == 0) for n in range(11)])
    assert error.value.errors == {"choices": "Give between 2 and 10 choices"}


def test_question_of_another_quiz_is_404(client, world):
    mine = make_quiz(world.course, "Mine")
    theirs = make_quiz(world.course, "Theirs")
    login(client, "teach")
    foreign = theirs.questions[0].id
    assert client.get(f"/activity/{mine.id}/questions?question={foreign}").status_code == 404
    token = csrf_token(client, f"/activity/{mine.id}/questions")
    assert client.post(f"/activity/{mine.id}/questions/{foreign}/delete",
                       data={"csrf_token": token}).status_code == 404


def test_teacher_deletes_a_question(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1", questions=2)
    first = quiz.questions[0].id
    login(client, "teach")
    response = post_form(client, f"/activity/{quiz.id}/questions/{first}/delete",
                         token_from=f"/activity/{quiz.id}/questions")
    assert response.status_code == 302
    db.session.expire_all()
    assert [q.text for q in db.session.get(Activity, quiz.id).questions] == ["Question 2?"]


@pytest.mark.parametrize("username", ["assist", "stud"])
def test_question_editor_is_for_teachers(client, world, username):
    quiz = make_quiz(world.course, "Quiz 1")
    login(client, username)
    assert client.get(f"/activity/{quiz.id}/questions").status_code == 403


def test_questions_of_a_page_are_404(client, world):
    page = make_activity(world.course, "page", "Intro")
    login(client, "teach")
    assert client.get(f"/activity/{page.id}/questions").status_code == 404


# ---------------------------------------------------------------- quiz attempts

def _answer(quiz, right: int) -> dict[str, str]:
    """Form data answering the first `right` questions correctly and the rest wrongly."""
    data = {}
    for index, question in enumerate(quiz.questions):
        choice = next(c for c in question.choices if c.is_correct == (index < right))
        data[f"q{question.id}"] = str(choice.id)
    return data


def _attempt(client, quiz, right: int):
    start = post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}")
    assert start.status_code == 302, start.status_code
    return post_form(client, start.headers["Location"], _answer(quiz, right))


def test_quiz_attempts_are_scored_and_the_highest_counts(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1", questions=3, max_grade="9")
    login(client, "stud")
    assert "Attempt quiz now" in client.get(f"/activity/{quiz.id}").get_data(as_text=True)
    response = _attempt(client, quiz, right=2)
    assert response.status_code == 302 and response.headers["Location"] == f"/activity/{quiz.id}/attempt/1"
    review = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>6</strong> out of 9" in review and "Correct answer" in review
    grade = db.session.execute(db.select(Grade)).scalar_one()
    assert grade.value == Decimal("6.00") and grade.graded_by_id is None
    assert _completed(db, quiz, world.student)
    _attempt(client, quiz, right=1)
    db.session.expire_all()
    assert db.session.execute(db.select(Grade)).scalar_one().value == Decimal("6.00")  # highest counts
    _attempt(client, quiz, right=3)
    db.session.expire_all()
    assert db.session.execute(db.select(Grade)).scalar_one().value == Decimal("9.00")
    scores = db.session.execute(db.select(QuizAttempt.score).order_by(QuizAttempt.number)).scalars().all()
    assert scores == [Decimal("6.00"), Decimal("3.00"), Decimal("9.00")]
    page = client.get(f"/activity/{quiz.id}").get_data(as_text=True)
    assert "Highest grade: <strong>9 / 9</strong>" in page and "Re-attempt quiz" in page


def test_attempt_limit(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1", attempts_allowed=1)
    login(client, "stud")
    _attempt(client, quiz, right=1)
    page = client.get(f"/activity/{quiz.id}").get_data(as_text=True)
    assert "No more attempts are allowed" in page and "Re-attempt quiz" not in page
    response = post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}")
    assert response.status_code == 400
    assert "No more attempts are allowed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(QuizAttempt).count() == 1


def test_starting_again_continues_the_open_attempt(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1", attempts_allowed=1)
    login(client, "stud")
    first = post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}")
    assert "Continue your attempt" in client.get(f"/activity/{quiz.id}").get_data(as_text=True)
    again = post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}")
    assert first.headers["Location"] == again.headers["Location"] == f"/activity/{quiz.id}/attempt/1"
    assert db.session.query(QuizAttempt).count() == 1


def test_unanswered_questions_score_zero(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1", questions=2)
    login(client, "stud")
    start = post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}")
    assert post_form(client, start.headers["Location"], {}).status_code == 302
    assert db.session.execute(db.select(Grade.value)).scalar_one() == Decimal("0")


def test_a_submitted_attempt_cannot_be_changed(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1")
    login(client, "stud")
    location = _attempt(client, quiz, right=0).headers["Location"]
    response = post_form(client, location, _answer(quiz, right=2))
    assert response.status_code == 400
    assert "This attempt has already been submitted" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(db.select(Grade.value)).scalar_one() == Decimal("0")


@pytest.mark.parametrize("tamper", ["other-question", "not-a-number"])
def test_tampered_answers_are_refused(client, db, world, tamper):
    quiz = make_quiz(world.course, "Quiz 1")
    other = make_quiz(world.course, "Other")
    login(client, "stud")
    location = post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}"
                         ).headers["Location"]
    value = str(other.questions[0].choices[0].id) if tamper == "other-question" else "x"
    response = post_form(client, location, {f"q{quiz.questions[0].id}": value})
    assert response.status_code == 400
    assert "An answer does not belong to its question." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(Grade).count() == 0
    assert db.session.execute(db.select(QuizAttempt.submitted_at)).scalar_one() is None


def test_attempts_belong_to_their_owner(client, db, world):
    from tests.factories import enrol, make_user

    quiz = make_quiz(world.course, "Quiz 1")
    enrol(make_user("stud2"), world.course, "student")
    login(client, "stud")
    location = _attempt(client, quiz, right=1).headers["Location"]
    switch_user(client, "stud2")
    assert client.get(location).status_code == 404
    switch_user(client, "teach")  # teachers do not attempt
    assert client.get(location).status_code == 403
    assert post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}"
                     ).status_code == 403


def test_a_quiz_without_questions_cannot_be_attempted(client, db, world):
    quiz = make_activity(world.course, "quiz", "Empty")
    login(client, "stud")
    assert "This quiz has no questions yet" in client.get(f"/activity/{quiz.id}").get_data(as_text=True)
    response = post_form(client, f"/activity/{quiz.id}/attempt", token_from=f"/activity/{quiz.id}")
    assert response.status_code == 400
    assert db.session.query(QuizAttempt).count() == 0


def test_teacher_sees_everyones_attempts(client, world):
    quiz = make_quiz(world.course, "Quiz 1")
    login(client, "stud")
    _attempt(client, quiz, right=2)
    switch_user(client, "assist")
    page = client.get(f"/activity/{quiz.id}").get_data(as_text=True)
    assert "Sue Student" in page and "Finished" in page and "Attempt quiz now" not in page


# ---------------------------------------------------------------- assignments

def test_student_submits_and_edits_online_text_until_graded(client, db, world):
    essay = make_activity(world.course, "assignment", "Essay", instructions_html="<p>Write 100 words</p>")
    login(client, "stud")
    page = client.get(f"/activity/{essay.id}").get_data(as_text=True)
    assert "Write 100 words" in page and "No submission" in page
    response = post_form(client, f"/activity/{essay.id}/submission", {"text": "<p>Draft</p>" + XSS},
                         token_from=f"/activity/{essay.id}")
    assert response.status_code == 302
    submission = db.session.execute(db.select(AssignmentSubmission)).scalar_one()
    assert submission.text_html.startswith("<p>Draft</p><p>Hello</p>") and "script" not in submission.text_html
    page = client.get(f"/activity/{essay.id}").get_data(as_text=True)
    assert "Submitted for grading" in page
    _assert_clean(page)
    post_form(client, f"/activity/{essay.id}/submission", {"text": "<p>Final</p>"}, token_from=f"/activity/{essay.id}")
    db.session.expire_all()
    assert db.session.execute(db.select(AssignmentSubmission.text_html)).scalar_one() == "<p>Final</p>"
    assert not _completed(db, essay, world.student)  # submitting is not grading

    from app.services.courses.gradebook import grade_by_teacher

    grade_by_teacher(db.session.get(Activity, essay.id), world.student, "70", feedback="Good", grader=world.teacher)
    db.session.commit()
    response = post_form(client, f"/activity/{essay.id}/submission", {"text": "<p>Sneaky edit</p>"},
                         token_from=f"/activity/{essay.id}")
    assert response.status_code == 400
    assert "Your submission has been graded and can no longer be changed." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(db.select(AssignmentSubmission.text_html)).scalar_one() == "<p>Final</p>"
    page = client.get(f"/activity/{essay.id}").get_data(as_text=True)
    assert "70 / 100" in page and "Good" in page and "Save changes" not in page


def test_empty_submission_is_refused(client, db, world):
    essay = make_activity(world.course, "assignment", "Essay")
    login(client, "stud")
    response = post_form(client, f"/activity/{essay.id}/submission", {"text": "<script>only</script>"},
                         token_from=f"/activity/{essay.id}")
    assert response.status_code == 400
    assert field_errors(response)["text"] == "Required"
    assert db.session.query(AssignmentSubmission).count() == 0


def test_only_students_submit(client, world):
    essay = make_activity(world.course, "assignment", "Essay")
    login(client, "teach")
    response = post_form(client, f"/activity/{essay.id}/submission", {"text": "<p>x</p>"},
                         token_from=f"/activity/{essay.id}")
    assert response.status_code == 403


def test_teacher_grades_a_submission(client, db, world):
    essay = make_activity(world.course, "assignment", "Essay", max_grade="20")
    login(client, "stud")
    post_form(client, f"/activity/{essay.id}/submission", {"text": "<p>My essay</p>"},
              token_from=f"/activity/{essay.id}")
    switch_user(client, "teach")
    listing = client.get(f"/activity/{essay.id}/submissions").get_data(as_text=True)
    assert "Sue Student" in listing and "Submitted for grading" in listing
    path = f"/activity/{essay.id}/grade/{world.student.id}"
    assert "My essay" in client.get(path).get_data(as_text=True)
    response = post_form(client, path, {"grade": "17.5", "feedback": "Nice <b>work</b>"})
    assert response.status_code == 302 and response.headers["Location"] == f"/activity/{essay.id}/submissions"
    grade = db.session.execute(db.select(Grade)).scalar_one()
    assert (grade.value, grade.feedback, grade.graded_by_id) == (Decimal("17.50"), "Nice <b>work</b>", world.teacher.id)
    assert _completed(db, essay, world.student)
    switch_user(client, "stud")
    page = client.get(f"/activity/{essay.id}").get_data(as_text=True)
    assert "17.5 / 20" in page and "Nice &lt;b&gt;work&lt;/b&gt;" in page


@pytest.mark.parametrize("value", ["", "-1", "20.01", "abc", "1e9"])
def test_grade_form_rejects_out_of_range_values(client, db, world, value):
    essay = make_activity(world.course, "assignment", "Essay", max_grade="20")
    login(client, "teach")
    response = post_form(client, f"/activity/{essay.id}/grade/{world.student.id}", {"grade": value, "feedback": "x"})
    assert response.status_code == 400
    assert field_errors(response)["grade"] == "Grade must be between 0 and 20"
    db.session.expire_all()
    assert db.session.query(Grade).count() == 0 and db.session.query(ActivityCompletion).count() == 0


def test_grading_someone_who_is_not_a_student_is_404(client, world):
    essay = make_activity(world.course, "assignment", "Essay")
    login(client, "teach")
    assert client.get(f"/activity/{essay.id}/grade/{world.outsider.id}").status_code == 404
    assert client.get(f"/activity/{essay.id}/grade/{world.noneditor.id}").status_code == 404
    quiz = make_quiz(world.course, "Quiz 1")
    assert client.get(f"/activity/{quiz.id}/grade/{world.student.id}").status_code == 404


@pytest.mark.parametrize("username", ["assist", "stud"])
def test_submissions_and_grading_are_for_teachers(client, world, username):
    essay = make_activity(world.course, "assignment", "Essay")
    login(client, username)
    assert client.get(f"/activity/{essay.id}/submissions").status_code == 403
    assert client.get(f"/activity/{essay.id}/grade/{world.student.id}").status_code == 403
    token = csrf_token(client, "/")
    response = client.post(f"/activity/{essay.id}/grade/{world.student.id}",
                           data={"grade": "50", "csrf_token": token})
    assert response.status_code == 403
