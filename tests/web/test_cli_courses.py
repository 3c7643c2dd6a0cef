"""`flask --app wsgi courses …` and `demo seed`: same rules and messages as the screens."""
import json
from decimal import Decimal

import pytest

from app.models import (
    Activity, ActivityCompletion, AssignmentSubmission, Course, Enrolment, Grade, QuizAttempt, QuizQuestion,
    RoleAssignment, User,
)
from tests.factories import enrol, make_activity, make_course, make_quiz, make_user


def _json(result):
    assert result.output, result.exception
    return json.loads(result.output)


def test_create_and_list_courses(runner, db):
    result = runner.invoke(args=["courses", "create", "BIO", "--fullname", "Biology", "--json"])
    assert result.exit_code == 0
    created = _json(result)
    assert created["short_name"] == "BIO" and created["full_name"] == "Biology" and created["grade_max"] == 100
    assert db.session.get(Course, created["id"]).visible is True
    listed = _json(runner.invoke(args=["courses", "list", "--json"]))
    assert [row["short_name"] for row in listed] == ["BIO"]
    assert "BIO\tBiology" in runner.invoke(args=["courses", "list"]).output


@pytest.mark.parametrize("args, message", [
    (["courses", "create", "MATH", "--fullname", "Other"], "Short name is already used for another course (Maths)"),
    (["courses", "create", "NEW", "--fullname", "x" * 255], "Maximum of 254 characters"),
    (["courses", "create", " ", "--fullname", "Blank"], "Required"),
])
def test_create_refuses_what_the_form_refuses(runner, db, args, message):
    make_course("MATH", "Maths")
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 1
    assert message in _json(result)["error"]
    text = runner.invoke(args=args)
    assert text.exit_code == 1 and message in text.output
    assert db.session.query(Course).count() == 1


def test_add_activity(runner, db):
    make_course("MATH", "Maths")
    for kind, extra in (("page", []), ("quiz", []), ("assignment", ["--max-grade", "50"])):
        result = runner.invoke(args=["courses", "add-activity", "MATH", "--type", kind, "--name", f"My {kind}",
                                     *extra, "--json"])
        assert result.exit_code == 0, result.output
    rows = db.session.execute(db.select(Activity).order_by(Activity.position)).scalars().all()
    assert [(a.type, a.name, a.max_grade) for a in rows] == [
        ("page", "My page", None), ("quiz", "My quiz", Decimal("10")), ("assignment", "My assignment", Decimal("50"))]


@pytest.mark.parametrize("args, message", [
    (["NOPE", "--type", "page", "--name", "x"], "Course not found: NOPE"),
    (["MATH", "--type", "forum", "--name", "x"], "Choose page, quiz or assignment"),
    (["MATH", "--type", "quiz", "--name", "x", "--max-grade", "0"], "Enter a number greater than 0"),
    (["MATH", "--type", "page", "--name", ""], "Required"),
    (["MATH", "--type", "page", "--name", "x", "--max-grade", "5"], "A page has no grade"),
])
def test_add_activity_refuses_bad_input(runner, db, args, message):
    make_course("MATH", "Maths")
    result = runner.invoke(args=["courses", "add-activity", *args, "--json"])
    assert result.exit_code == 1 and message in _json(result)["error"]
    assert db.session.query(Activity).count() == 0


def test_enrol_and_unenrol(runner, db):
    make_course("MATH", "Maths")
    user = make_user("alice")
    result = runner.invoke(args=["courses", "enrol", "MATH", "alice", "--role", "noneditingteacher", "--json"])
    assert result.exit_code == 0 and _json(result)["role"] == "noneditingteacher"
    runner.invoke(args=["courses", "enrol", "MATH", "ALICE", "--role", "student"])
    assert db.session.execute(db.select(RoleAssignment.role).where(RoleAssignment.user_id == user.id)
                              ).scalars().all() == ["student"]
    result = runner.invoke(args=["courses", "unenrol", "MATH", "alice", "--json"])
    assert result.exit_code == 0 and _json(result)["unenrolled"] is True
    assert db.session.query(Enrolment).count() == 0
    again = runner.invoke(args=["courses", "unenrol", "MATH", "alice", "--json"])
    assert again.exit_code == 1 and _json(again)["error"] == "alice is not enrolled in MATH"


@pytest.mark.parametrize("args, message", [
    (["MATH", "alice", "--role", "manager"], "Choose Teacher, Non-editing teacher or Student"),
    (["MATH", "nobody", "--role", "student"], 'No user with username "nobody".'),
    (["NOPE", "alice", "--role", "student"], "Course not found: NOPE"),
])
def test_enrol_refuses_bad_input(runner, db, args, message):
    make_course("MATH", "Maths")
    make_user("alice")
    result = runner.invoke(args=["courses", "enrol", *args, "--json"])
    assert result.exit_code == 1 and _json(result)["error"] == message
    assert db.session.query(Enrolment).count() == 0


def test_grade_is_the_grading_screens_grade(runner, db):
    course = make_course("MATH", "Maths")
    essay = make_activity(course, "assignment", "Essay", max_grade="20")
    student = make_user("alice")
    enrol(student, course, "student")
    result = runner.invoke(args=["courses", "grade", "MATH", "--activity", "Essay", "--user", "alice",
                                 "--grade", "15", "--feedback", "Well argued", "--json"])
    assert result.exit_code == 0, result.output
    out = _json(result)
    assert (out["grade"], out["max_grade"], out["feedback"]) == (15, 20, "Well argued")
    grade = db.session.execute(db.select(Grade)).scalar_one()
    first_change = grade.changed_at
    assert grade.value == Decimal("15") and grade.graded_by_id is None
    assert db.session.query(ActivityCompletion).filter_by(activity_id=essay.id, user_id=student.id).count() == 1
    # Same value again: feedback kept (not given), changed_at untouched.
    runner.invoke(args=["courses", "grade", "MATH", "--activity", "Essay", "--user", "alice", "--grade", "15.00"])
    db.session.expire_all()
    grade = db.session.execute(db.select(Grade)).scalar_one()
    assert grade.changed_at == first_change and grade.feedback == "Well argued"
    text = runner.invoke(args=["courses", "grade", "MATH", "--activity", "Essay", "--user", "alice", "--grade", "16"])
    assert text.exit_code == 0 and "16 / 20" in text.output
    db.session.expire_all()
    assert db.session.execute(db.select(Grade)).scalar_one().changed_at > first_change


@pytest.mark.parametrize("args, message", [
    (["--activity", "Essay", "--user", "alice", "--grade", "21"], "Grade must be between 0 and 20"),
    (["--activity", "Essay", "--user", "alice", "--grade", "-1"], "Grade must be between 0 and 20"),
    (["--activity", "Essay", "--user", "alice", "--grade", "lots"], "Grade must be between 0 and 20"),
    (["--activity", "Reading", "--user", "alice", "--grade", "1"], "This activity has no grade"),
    (["--activity", "Missing", "--user", "alice", "--grade", "1"], "Activity not found in MATH: Missing"),
    (["--activity", "Essay", "--user", "bob", "--grade", "1"], "bob is not a student in Essay"),
])
def test_grade_refuses_bad_input(runner, db, args, message):
    course = make_course("MATH", "Maths")
    make_activity(course, "assignment", "Essay", max_grade="20")
    make_activity(course, "page", "Reading")
    enrol(make_user("alice"), course, "student")
    make_user("bob")
    result = runner.invoke(args=["courses", "grade", "MATH", *args, "--json"])
    assert result.exit_code == 1 and _json(result)["error"] == message
    assert db.session.query(Grade).count() == 0 and db.session.query(ActivityCompletion).count() == 0


def test_grade_a_quiz_as_a_teacher_override(runner, db):
    course = make_course("MATH", "Maths")
    make_quiz(course, "Quiz 1", max_grade="10")
    enrol(make_user("alice"), course, "student")
    result = runner.invoke(args=["courses", "grade", "MATH", "--activity", "Quiz 1", "--user", "alice",
                                 "--grade", "8", "--json"])
    assert result.exit_code == 0 and _json(result)["grade"] == 8


# ---------------------------------------------------------------- demo seed

def test_demo_seed_creates_the_demo_once(runner, db):
    result = runner.invoke(args=["demo", "seed", "--json"])
    assert result.exit_code == 0, result.output
    created = _json(result)
    admin = created["admin"]
    assert admin["username"] == "admin" and len(admin["password"]) >= 12
    assert set(created["users"]) == {"teacher1", "teacher2", *(f"student{n}" for n in range(1, 7))}
    assert set(created["courses"]) == {"DEMO1", "DEMO2"}
    admin_user = db.session.execute(db.select(User).where(User.username == "admin")).scalar_one()
    assert admin_user.is_site_admin and admin_user.check_password(admin["password"])
    teacher = db.session.execute(db.select(User).where(User.username == "teacher1")).scalar_one()
    assert teacher.check_password(created["demo_password"]) and not teacher.is_site_admin

    for short_name, full_name in (("DEMO1", "Demo course 1"), ("DEMO2", "Demo course 2")):
        course = db.session.execute(db.select(Course).where(Course.short_name == short_name)).scalar_one()
        assert course.full_name == full_name
        assert [a.type for a in course.activities] == ["page", "quiz", "assignment"]
        quiz = course.activities[1]
        assert len(quiz.questions) == 3
        assert all(sum(c.is_correct for c in q.choices) == 1 for q in quiz.questions)
    counts = {model.__name__: db.session.query(model).count()
              for model in (User, Course, Activity, QuizQuestion, Enrolment, QuizAttempt, Grade,
                            AssignmentSubmission)}
    assert counts["User"] == 9 and counts["Enrolment"] == 16 and counts["QuizAttempt"] >= 3
    graded = db.session.execute(db.select(Grade).join(Activity).where(Activity.type == "assignment")).scalars().all()
    assert [g.value for g in graded] == [Decimal("85")]

    again = runner.invoke(args=["demo", "seed", "--json"])
    assert again.exit_code == 0
    assert _json(again) == {"admin": None, "users": {}, "demo_password": None, "courses": {}}
    assert {model.__name__: db.session.query(model).count() for model in
            (User, Course, Activity, QuizQuestion, Enrolment, QuizAttempt, Grade, AssignmentSubmission)} == counts
    assert runner.invoke(args=["demo", "seed"]).output.strip() == "Demo data already present: nothing created."


def test_demo_seed_prints_the_admin_password_once_in_text(runner):
    first = runner.invoke(args=["demo", "seed"]).output
    assert "Admin username: admin" in first and "Admin password: " in first
    assert "Created course DEMO1" in first
    assert "Admin password" not in runner.invoke(args=["demo", "seed"]).output


def test_demo_seed_keeps_existing_users_and_courses(runner, db):
    make_user("admin", admin=True)
    make_course("DEMO1", "My own demo")
    created = _json(runner.invoke(args=["demo", "seed", "--json"]))
    assert created["admin"] is None and list(created["courses"]) == ["DEMO2"]
    course = db.session.execute(db.select(Course).where(Course.short_name == "DEMO1")).scalar_one()
    assert course.full_name == "My own demo" and course.activities == []


def test_users_list_after_seed_is_not_empty(runner):
    """scripts/start.sh seeds only when `users list --json` is []: after one seed it must not seed again."""
    assert _json(runner.invoke(args=["users", "list", "--json"])) == []
    runner.invoke(args=["demo", "seed"])
    assert len(_json(runner.invoke(args=["users", "list", "--json"]))) == 9
