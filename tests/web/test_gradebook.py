"""Gradebook and completion: record_grade, course totals, the teacher view, My grades, completion."""
from datetime import timedelta
from decimal import Decimal

import pytest

from app.models import Grade
from app.services.courses import completion
from app.services.courses import gradebook
from app.services.errors import ServiceError, ValidationErrors
from app.services.courses.quiz import start_attempt, submit_attempt
from tests.factories import enrol, make_activity, make_quiz, make_user
from tests.helpers import login
from tests.web.course_world import switch_user, world  # noqa: F401  (fixture)


def _grade(db, activity, user) -> Grade:
    db.session.expire_all()
    return db.session.execute(db.select(Grade).where(Grade.activity_id == activity.id,
                                                     Grade.user_id == user.id)).scalar_one()


# ---------------------------------------------------------------- record_grade

def test_changed_at_moves_only_when_the_value_changes(db, world):
    essay = make_activity(world.course, "assignment", "Essay", max_grade="100")
    grade = gradebook.record_grade(essay, world.student, "40", feedback="ok", grader=world.teacher)
    db.session.commit()
    first = grade.changed_at
    # Pretend it was graded an hour ago, so any later stamp is visibly different.
    grade.changed_at = first - timedelta(hours=1)
    db.session.commit()
    earlier = _grade(db, essay, world.student).changed_at

    gradebook.record_grade(essay, world.student, Decimal("40.00"), feedback="Better feedback", grader=world.admin)
    db.session.commit()
    same = _grade(db, essay, world.student)
    assert same.changed_at == earlier  # the value did not change
    assert same.feedback == "Better feedback" and same.graded_by_id == world.admin.id

    gradebook.record_grade(essay, world.student, "41", feedback=None, grader=world.teacher)
    db.session.commit()
    changed = _grade(db, essay, world.student)
    assert changed.value == Decimal("41.00") and changed.changed_at > earlier
    assert changed.feedback == "Better feedback"  # None keeps the feedback


def test_record_grade_validates_before_writing(db, world):
    essay = make_activity(world.course, "assignment", "Essay", max_grade="7.5")
    page = make_activity(world.course, "page", "Intro")
    for value in ("-0.01", "7.51", "x", None, "inf"):
        with pytest.raises(ValidationErrors) as error:
            gradebook.record_grade(essay, world.student, value, feedback="", grader=None)
        assert error.value.errors == {"grade": "Grade must be between 0 and 7.5"}
    with pytest.raises(ServiceError, match="This activity has no grade"):
        gradebook.record_grade(page, world.student, "1", feedback="", grader=None)
    assert db.session.query(Grade).count() == 0
    assert gradebook.record_grade(essay, world.student, "7.5", feedback="", grader=None).value == Decimal("7.50")


def test_quiz_attempts_go_through_record_grade(db, world):
    quiz = make_quiz(world.course, "Quiz 1", questions=4, max_grade="10")
    right = {q.id: next(c.id for c in q.choices if c.is_correct) for q in quiz.questions}
    submit_attempt(quiz, start_attempt(quiz, world.student), world.student, dict(list(right.items())[:3]))
    db.session.commit()
    stamp = _grade(db, quiz, world.student).changed_at
    submit_attempt(quiz, start_attempt(quiz, world.student), world.student, dict(list(right.items())[:1]))
    db.session.commit()
    grade = _grade(db, quiz, world.student)
    assert grade.value == Decimal("7.50") and grade.changed_at == stamp  # a lower attempt changes nothing


# ---------------------------------------------------------------- course total

def test_course_total_is_scaled_and_rounded(db, world):
    world.course.grade_max = Decimal("100")
    quiz = make_activity(world.course, "quiz", "Quiz", max_grade="10")
    essay = make_activity(world.course, "assignment", "Essay", max_grade="20")
    make_activity(world.course, "page", "Reading")  # pages are not graded
    assert gradebook.course_total(world.course, world.student) is None  # no grade at all → "-"
    gradebook.record_grade(quiz, world.student, "7", feedback="", grader=None)
    # 7 ÷ (10 + 20) × 100 = 23.333… — the missing essay grade counts as 0
    assert gradebook.course_total(world.course, world.student) == Decimal("23.33")
    gradebook.record_grade(essay, world.student, "13", feedback="", grader=world.teacher)
    assert gradebook.course_total(world.course, world.student) == Decimal("66.67")
    world.course.grade_max = Decimal("7")
    # 20 ÷ 30 × 7 = 4.666…
    assert gradebook.course_total(world.course, world.student) == Decimal("4.67")


def test_course_total_without_graded_activities(db, world):
    make_activity(world.course, "page", "Reading")
    assert gradebook.course_total(world.course, world.student) is None


# ---------------------------------------------------------------- completion

def test_course_completion_needs_every_visible_activity(db, world):
    page = make_activity(world.course, "page", "Reading")
    quiz = make_quiz(world.course, "Quiz")
    essay = make_activity(world.course, "assignment", "Essay")
    make_activity(world.course, "page", "Hidden extra", visible=False)
    assert not completion.is_course_complete(world.course, world.student)
    completion.mark_complete(page, world.student)
    submit_attempt(quiz, start_attempt(quiz, world.student), world.student, {})
    assert completion.is_activity_complete(quiz, world.student)  # attempted, even with 0 marks
    assert not completion.is_course_complete(world.course, world.student)
    gradebook.grade_by_teacher(essay, world.student, "0", feedback="", grader=world.teacher)
    assert completion.is_course_complete(world.course, world.student)  # the hidden page does not count
    assert not completion.is_course_complete(world.course, world.outsider)


def test_a_course_without_visible_activities_is_not_complete(db, world):
    assert not completion.is_course_complete(world.course, world.student)


# ---------------------------------------------------------------- teacher gradebook

def test_gradebook_shows_students_activities_and_totals(client, db, world):
    quiz = make_activity(world.course, "quiz", "Quiz 1", max_grade="10")
    essay = make_activity(world.course, "assignment", "Essay", max_grade="10")
    make_activity(world.course, "page", "Reading")
    other = make_user("stud2", first_name="Bob", last_name="Brown")
    enrol(other, world.course, "student")
    gradebook.record_grade(quiz, world.student, "5", feedback="", grader=None)
    gradebook.record_grade(essay, world.student, "10", feedback="", grader=world.teacher)
    db.session.commit()
    login(client, "teach")
    page = client.get(f"/course/{world.course.id}/grades").get_data(as_text=True)
    assert "Quiz 1" in page and "Essay" in page and "Reading" not in page and "Course total" in page
    assert '<th scope="row">Tom Teacher</th>' not in page  # teachers are not graded
    bob, sue = page.index("Bob Brown"), page.index("Sue Student")
    assert bob < sue  # by last name
    sue_row = page[sue:page.index("</tr>", sue)]
    assert '<td class="course-total">75</td>' in sue_row
    bob_row = page[bob:page.index("</tr>", bob)]
    assert '<td class="course-total">-</td>' in bob_row
    assert f'/activity/{essay.id}/grade/{world.student.id}' in page  # teachers can grade from here


def test_activity_only_students_are_in_the_gradebook(client, db, world):
    quiz = make_quiz(world.course, "Quiz 1")
    visitor = world.activity_only(quiz)
    login(client, "teach")
    assert visitor.full_name in client.get(f"/course/{world.course.id}/grades").get_data(as_text=True)


def test_non_editing_teachers_read_the_gradebook_only(client, db, world):
    essay = make_activity(world.course, "assignment", "Essay")
    gradebook.record_grade(essay, world.student, "50", feedback="", grader=world.teacher)
    db.session.commit()
    login(client, "assist")
    response = client.get(f"/course/{world.course.id}/grades")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "50" in page
    assert "/grade/" not in page and "You can view this gradebook but not change grades." in page


@pytest.mark.parametrize("username, status", [("admin", 200), ("teach", 200), ("assist", 200), ("stud", 403),
                                              ("other", 403)])
def test_gradebook_access(client, world, username, status):
    login(client, username)
    assert client.get(f"/course/{world.course.id}/grades").status_code == status


# ---------------------------------------------------------------- my grades

def test_my_grades_shows_own_grades_range_feedback_and_total(client, db, world):
    quiz = make_activity(world.course, "quiz", "Quiz 1", max_grade="10")
    essay = make_activity(world.course, "assignment", "Essay", max_grade="30")
    hidden = make_activity(world.course, "assignment", "Secret task", max_grade="10", visible=False)
    other = make_user("stud2")
    enrol(other, world.course, "student")
    gradebook.record_grade(essay, world.student, "21", feedback="Solid argument", grader=world.teacher)
    gradebook.record_grade(quiz, other, "10", feedback="", grader=None)
    gradebook.record_grade(hidden, world.student, "10", feedback="", grader=world.teacher)
    db.session.commit()
    login(client, "stud")
    page = client.get(f"/course/{world.course.id}/grades/me").get_data(as_text=True)
    assert "My grades" in page and "Solid argument" in page and "0–30" in page
    assert "Secret task" not in page
    # (21 + 10) ÷ (10 + 30 + 10) × 100 = 62: hidden activities still count towards the total
    assert '<td class="course-total">62</td>' in page
    quiz_row = page[page.index("Quiz 1"):]
    assert quiz_row[:quiz_row.index("</tr>")].count("<td>-</td>") == 1  # the other student's 10 is not shown


def test_my_grades_for_someone_outside_the_course(client, world):
    login(client, "other")
    assert client.get(f"/course/{world.course.id}/grades/me").status_code == 403


def test_my_grades_shows_a_dash_before_any_grade(client, world):
    make_activity(world.course, "quiz", "Quiz 1")
    login(client, "stud")
    page = client.get(f"/course/{world.course.id}/grades/me").get_data(as_text=True)
    assert '<td class="course-total">-</td>' in page


def test_students_switching_pages_see_their_own_grades_only(client, db, world):
    essay = make_activity(world.course, "assignment", "Essay")
    other = make_user("stud2")
    enrol(other, world.course, "student")
    gradebook.record_grade(essay, other, "99", feedback="Top marks", grader=world.teacher)
    db.session.commit()
    login(client, "stud")
    assert "Top marks" not in client.get(f"/course/{world.course.id}/grades/me").get_data(as_text=True)
    switch_user(client, "stud2")
    assert "Top marks" in client.get(f"/course/{world.course.id}/grades/me").get_data(as_text=True)
