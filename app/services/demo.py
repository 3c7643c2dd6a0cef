"""Demo data for the quick start: created when absent, so running it twice changes nothing."""
from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from app.extensions import db
from app.lti import keys
from app.models import Activity, Course, User
from app.models.courses import ROLE_NONEDITING, ROLE_STUDENT, ROLE_TEACHER
from app.services.courses import assignments
from app.services.courses import content as courses
from app.services.courses import enrolments
from app.services.courses import gradebook
from app.services.publishing import resources as publishing
from app.services.publishing import publish_values
from app.services.courses import quiz
from app.services.accounts.users import create_user

ADMIN = ("admin", "Ada", "Admin")
TEACHERS = [("teacher1", "Terry", "Teacher"), ("teacher2", "Tina", "Tutor")]
STUDENTS = [("student1", "Sam", "Student"), ("student2", "Alex", "Learner"), ("student3", "Jo", "Pupil"),
            ("student4", "Max", "Scholar"), ("student5", "Kim", "Reader"), ("student6", "Lee", "Writer")]

# (short name, full name, teacher, non-editing teacher, subject) — each course's page, quiz and assignment
COURSES = [
    ("DEMO1", "Demo course 1", "teacher1", "teacher2", "the water cycle"),
    ("DEMO2", "Demo course 2", "teacher2", "teacher1", "fractions"),
]

CONTENT = {
    "the water cycle": {
        "page": ("<h2>The water cycle</h2><p>Water moves between the sea, the air and the land in a cycle "
                 "driven by the sun.</p><ol><li><strong>Evaporation</strong>: the sun warms water, which rises "
                 "as vapour.</li><li><strong>Condensation</strong>: vapour cools into tiny droplets that form "
                 "clouds.</li><li><strong>Precipitation</strong>: droplets join and fall as rain, snow or "
                 "hail.</li><li><strong>Collection</strong>: water gathers in rivers, lakes and oceans.</li></ol>"
                 "<table><thead><tr><th scope=\"col\">Stage</th><th scope=\"col\">Where</th></tr></thead>"
                 "<tbody><tr><td>Evaporation</td><td>Oceans, lakes</td></tr><tr><td>Condensation</td>"
                 "<td>Clouds</td></tr></tbody></table>"),
        "questions": [
            ("What makes water evaporate?", ["Heat from the sun", "The moon's gravity", "Wind alone"], 0),
            ("What forms when water vapour cools?", ["Rivers", "Clouds", "Salt"], 1),
            ("Which of these is precipitation?", ["Fog lifting", "Dew drying", "Snow falling"], 2),
        ],
        "assignment": "<p>In a short paragraph, describe one journey a single drop of water could make "
                      "through the water cycle.</p>",
    },
    "fractions": {
        "page": ("<h2>Fractions</h2><p>A fraction names part of a whole: the <em>denominator</em> says how many "
                 "equal parts the whole has, the <em>numerator</em> how many of them we take.</p><ul>"
                 "<li>1/2 of a pizza is one of two equal slices.</li><li>3/4 is three of four equal parts."
                 "</li></ul><p>Equivalent fractions name the same amount: 1/2 = 2/4 = 4/8.</p>"),
        "questions": [
            ("Which fraction equals 1/2?", ["2/3", "3/6", "1/3"], 1),
            ("What is 1/4 + 1/4?", ["1/2", "2/8", "1/8"], 0),
            ("Which is the largest?", ["1/3", "1/5", "3/4"], 2),
        ],
        "assignment": "<p>Explain, with a drawing described in words, why 2/4 and 1/2 are the same amount.</p>",
    },
}

# Answer indexes per question for the demo attempts: (student, [choices for attempt 1], [attempt 2]…)
ATTEMPTS = {
    "DEMO1": [("student1", [0, 1, 2]), ("student2", [0, 0, 2], [0, 1, 2]), ("student3", [1, 0, 0])],
    "DEMO2": [("student1", [1, 0, 1]), ("student4", [1, 0, 2])],
}


def _user(username: str, first: str, last: str, password: str, *, admin: bool = False) -> tuple[User, bool]:
    existing = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    return create_user(username, password, email=f"{username}@example.com", first_name=first, last_name=last,
                       is_site_admin=admin), True


def _quiz(course: Course, subject: str) -> Activity:
    activity = courses.create_activity(course, "quiz", courses.ActivityFields(
        name="Quiz", description_html=f"<p>Three questions on {subject}. Your highest attempt counts.</p>",
        max_grade="10", attempts_allowed=3))
    for text, choices, correct in CONTENT[subject]["questions"]:
        quiz.save_question(activity, text, [quiz.ChoiceInput(choice, index == correct)
                                            for index, choice in enumerate(choices)])
    return activity


def _attempt(activity: Activity, student: User, picks: list[int]) -> None:
    attempt = quiz.start_attempt(activity, student)
    answers = {question.id: question.choices[pick].id for question, pick in zip(activity.questions, picks)}
    quiz.submit_attempt(activity, attempt, student, answers)


def _seed_course(short_name: str, full_name: str, teacher: User, noneditor: User, subject: str,
                 students: list[User]) -> dict[str, Any]:
    course = courses.create_course(courses.CourseFields(
        full_name=full_name, short_name=short_name,
        summary_html=f"<p>A demonstration course about {subject}, with a page, a quiz and an assignment.</p>"))
    page = courses.create_activity(course, "page", courses.ActivityFields(
        name="Reading", content_html=CONTENT[subject]["page"]))
    quiz_activity = _quiz(course, subject)
    assignment = courses.create_activity(course, "assignment", courses.ActivityFields(
        name="Assignment", instructions_html=CONTENT[subject]["assignment"], max_grade="100"))
    enrolments.enrol_user(course, teacher, ROLE_TEACHER)
    enrolments.enrol_user(course, noneditor, ROLE_NONEDITING)
    for student in students:
        enrolments.enrol_user(course, student, ROLE_STUDENT)
    by_name = {student.username: student for student in students}
    for username, *tries in ATTEMPTS[short_name]:
        for picks in tries:
            _attempt(quiz_activity, by_name[username], picks)
    first, second = students[0], students[1]
    assignments.save_submission(assignment, first, f"<p>My answer about {subject}, written by {first.first_name}.</p>")
    assignments.save_submission(assignment, second, f"<p>A first draft about {subject}.</p>")
    if short_name == COURSES[0][0]:  # one graded assignment in the demo
        gradebook.grade_by_teacher(assignment, first, "85", feedback="Clear and well organised. Well done!",
                                   grader=teacher)
    published = []
    if short_name == COURSES[0][0]:  # LTI Advantage publications of the course and of its quiz
        published = [publishing.publish(course, replace(publish_values.new_values(), target=target)).id
                     for target in ("course", str(quiz_activity.id))]
    return {"id": course.id, "short_name": course.short_name, "full_name": course.full_name,
            "activities": {"page": page.id, "quiz": quiz_activity.id, "assignment": assignment.id},
            "published": published}


def seed_demo() -> dict[str, Any]:
    """Create whatever demo data is missing and say what was created.

    Existing usernames and course short names are skipped (a course that exists keeps its content). The
    returned dict carries the admin's generated password only when this call created the admin, and the
    shared password of the demo teachers and students only when it created one of them.
    """
    created: dict[str, Any] = {"admin": None, "users": {}, "demo_password": None, "courses": {}}
    keys.ensure_keys()  # already there after `db upgrade`; a database made otherwise gets them here
    admin_password = secrets.token_urlsafe(12)
    admin, is_new = _user(*ADMIN, admin_password, admin=True)
    if is_new:
        created["admin"] = {"username": admin.username, "password": admin_password, "id": admin.id}
    demo_password = secrets.token_urlsafe(9)
    people: dict[str, User] = {}
    for username, first, last in TEACHERS + STUDENTS:
        people[username], is_new = _user(username, first, last, demo_password)
        if is_new:
            created["users"][username] = people[username].id
    if created["users"]:
        created["demo_password"] = demo_password
    students = [people[username] for username, _, _ in STUDENTS]
    for short_name, full_name, teacher, noneditor, subject in COURSES:
        exists = db.session.execute(db.select(Course.id).where(Course.short_name == short_name)).first()
        if exists is None:
            created["courses"][short_name] = _seed_course(short_name, full_name, people[teacher], people[noneditor],
                                                          subject, students)
    return created
