"""The host site in a real browser: an admin builds a course with a quiz, a student attempts it, the teacher
sees the grade; and an assignment is submitted and graded. Screenshots of every course screen."""
import re

import pytest
from playwright.sync_api import expect

from tests.factories import enrol, make_activity, make_course, make_user
from tests.browser.steps import log_in

pytestmark = pytest.mark.browser



def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def _people(live_server) -> None:
    with live_server.app.app_context():
        make_user("admin", admin=True, first_name="Ada", last_name="Admin")
        make_user("teach", first_name="Tom", last_name="Teacher")
        make_user("stud", first_name="Sue", last_name="Student")


def _enrol(page, person: str, role: str) -> None:
    page.get_by_role("link", name="Enrol users").click()
    page.get_by_label("User", exact=True).select_option(label=person)
    page.get_by_label("Role", exact=True).select_option(label=role)
    page.get_by_role("button", name="Enrol users").click()
    expect(page.get_by_text(f"enrolled as {role}")).to_be_visible()


def _add_question(page, text: str, choices: list[str], correct: int) -> None:
    page.get_by_label("Question text").fill(text)
    for number, choice in enumerate(choices, start=1):
        page.get_by_label(f"Choice {number}", exact=True).fill(choice)
    page.get_by_label(f"Choice {correct} is correct").check()
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("Question saved")).to_be_visible()


def test_admin_builds_a_quiz_student_attempts_teacher_sees_grade(page, live_server, screenshot):
    _people(live_server)
    log_in(page, "admin")
    screenshot("course-dashboard-empty")
    page.get_by_role("link", name="All courses").click()
    page.get_by_role("link", name="Add a new course").click()
    page.get_by_label("Course full name").fill("Astronomy")
    page.get_by_role("button", name="Save and display").click()
    expect(page.get_by_text("Required").first).to_be_visible()  # short name missing: shown under the field
    screenshot("course-form-errors")
    page.get_by_label("Course short name").fill("ASTRO")
    page.get_by_label("Course summary").fill("<p>Stars, planets and <strong>everything</strong> between.</p>")
    page.get_by_role("button", name="Save and display").click()
    expect(page.get_by_role("heading", name="Astronomy")).to_be_visible()
    expect(page.get_by_text("Course Astronomy created")).to_be_visible()

    page.get_by_role("link", name="Add a quiz").click()
    page.get_by_label("Name").fill("Solar system quiz")
    page.get_by_label("Maximum grade").fill("10")
    page.get_by_label("Attempts allowed").select_option(label="2")
    screenshot("course-activity-form")
    page.get_by_role("button", name="Save and return").click()
    expect(page.get_by_role("heading", name="Questions: Solar system quiz")).to_be_visible()
    _add_question(page, "Which planet is closest to the sun?", ["Venus", "Mercury", "Mars"], correct=2)
    page.get_by_label("Question text").fill("How many moons does Mars have?")
    page.get_by_label("Choice 1", exact=True).fill("Two")
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("Give between 2 and 10 choices")).to_be_visible()  # one choice, none correct
    page.get_by_label("Choice 2", exact=True).fill("None")
    page.get_by_label("Choice 1 is correct").check()
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("Question saved")).to_be_visible()
    screenshot("course-quiz-questions")

    page.get_by_role("link", name="Back to Solar system quiz").click()
    page.get_by_role("link", name="Astronomy").first.click()
    page.get_by_role("link", name="Participants").click()
    _enrol(page, "Tom Teacher (teach)", "Teacher")
    _enrol(page, "Sue Student (stud)", "Student")
    screenshot("course-participants")
    page.get_by_role("link", name="Course", exact=True).click()
    screenshot("course-page-admin")
    _log_out(page)

    log_in(page, "stud")
    screenshot("course-dashboard-student")
    page.get_by_role("link", name="Astronomy").click()
    expect(page.get_by_text("Not completed")).to_be_visible()
    page.get_by_role("link", name="Solar system quiz").click()
    screenshot("course-quiz-student")
    page.get_by_role("button", name="Attempt quiz now").click()
    page.get_by_label("Mercury").check()
    page.get_by_label("Two").check()
    screenshot("course-quiz-attempt")
    page.get_by_role("button", name="Submit all and finish").click()
    expect(page.get_by_text("Attempt 1 submitted")).to_be_visible()
    expect(page.locator(".attempt-summary").get_by_text("10").first).to_be_visible()
    screenshot("course-quiz-review")
    page.get_by_role("link", name="Finish review").click()
    expect(page.get_by_text("Highest grade: 10 / 10")).to_be_visible()
    page.get_by_role("link", name="Astronomy").first.click()
    expect(page.get_by_text("Completed", exact=True)).to_be_visible()
    screenshot("course-page-student-completed")
    page.get_by_role("link", name="Grades").click()
    expect(page.get_by_role("heading", name="My grades")).to_be_visible()
    screenshot("course-my-grades")
    _log_out(page)

    log_in(page, "teach")
    page.get_by_role("link", name="Astronomy").click()
    page.get_by_role("link", name="Grades").click()
    row = page.get_by_role("row", name=re.compile("Sue Student"))
    expect(row.get_by_role("cell").nth(0)).to_have_text("10")
    expect(row.locator(".course-total")).to_have_text("100")
    screenshot("course-gradebook")


def test_assignment_submitted_graded_and_seen(page, live_server, screenshot):
    _people(live_server)
    with live_server.app.app_context():
        course = make_course("ESSAY", "Writing skills")
        make_activity(course, "page", "How to write",
                      content_html="<h2>Plan first</h2><ul><li>Outline</li><li>Draft</li></ul>"
                                   '<script>alert(1)</script><img src="x" onerror="alert(2)">')
        make_activity(course, "assignment", "Short essay", max_grade="20",
                      instructions_html="<p>Write 200 words.</p>")
        enrol(_user("teach"), course, "teacher")
        enrol(_user("stud"), course, "student")
        course_id = course.id

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, "stud")
    page.get_by_role("link", name="Writing skills").click()
    page.get_by_role("link", name="How to write").click()
    expect(page.get_by_role("heading", name="Plan first")).to_be_visible()
    screenshot("course-page-activity")
    page.goto(f"/course/{course_id}")
    page.get_by_role("link", name="Short essay", exact=True).click()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Required")).to_be_visible()
    page.get_by_label("Online text").fill("<p>Essays need a <em>plan</em>.</p>")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Submitted for grading")).to_be_visible()
    screenshot("course-assignment-student")
    _log_out(page)

    log_in(page, "teach")
    page.goto(f"/course/{course_id}")
    page.get_by_role("link", name="Short essay", exact=True).click()
    page.get_by_role("link", name="View all submissions").click()
    screenshot("course-assignment-submissions")
    page.get_by_role("link", name="Grade Sue Student").click()
    page.get_by_label("Grade", exact=True).fill("25")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Grade must be between 0 and 20")).to_be_visible()
    page.get_by_label("Grade", exact=True).fill("18")
    page.get_by_label("Feedback comments").fill("Good structure.\nWatch your spelling.")
    screenshot("course-assignment-grade")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Grade saved for Sue Student")).to_be_visible()
    page.goto(f"/course/{course_id}/participants/{_id(live_server, 'stud')}/unenrol")
    screenshot("course-confirm-unenrol")
    _log_out(page)

    log_in(page, "stud")
    page.goto(f"/course/{course_id}/grades/me")
    expect(page.get_by_text("Watch your spelling.")).to_be_visible()
    screenshot("course-my-grades-feedback")
    assert dialogs == []  # no script from the page content ever ran


def _user(username: str):
    from app.extensions import db
    from app.models import User

    return db.session.execute(db.select(User).where(User.username == username)).scalar_one()


def _id(live_server, username: str) -> int:
    with live_server.app.app_context():
        return _user(username).id
