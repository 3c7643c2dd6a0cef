"""Courses: list, course page, admin CRUD, participants and enrolment, the dashboard."""
from decimal import Decimal

import pytest

from app.models import Activity, Course, Enrolment, PublishedResource, RoleAssignment
from tests.factories import make_activity, make_resource, make_user
from tests.helpers import csrf_token, login, post_form
from tests.web.course_world import field_errors, switch_user, world  # noqa: F401  (fixture)

VALID = {"full_name": "Physics for beginners", "short_name": "PHY1", "summary_html": "<p>Forces</p>",
         "visible": "1", "grade_max": "50"}


def _count(db, model) -> int:
    return db.session.query(model).count()


@pytest.mark.parametrize("path", ["/", "/courses", "/course/new", "/course/1", "/course/1/edit",
                                  "/course/1/participants", "/course/1/grades", "/course/1/grades/me"])
def test_anonymous_is_sent_to_login(client, world, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_admin_creates_a_course(client, db, world):
    login(client, "admin")
    response = post_form(client, "/course/new",
                         {**VALID, "summary_html": '<p onclick="x()">Forces</p><script>x</script>'})
    assert response.status_code == 302
    course = db.session.execute(db.select(Course).where(Course.short_name == "PHY1")).scalar_one()
    assert response.headers["Location"] == f"/course/{course.id}"
    assert (course.full_name, course.visible, course.grade_max) == ("Physics for beginners", True, Decimal("50"))
    assert course.summary_html == "<p>Forces</p>"
    assert "Course Physics for beginners created" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("changes, field, message", [
    ({"full_name": ""}, "full_name", "Required"),
    ({"full_name": "x" * 255}, "full_name", "Maximum of 254 characters"),
    ({"short_name": "  "}, "short_name", "Required"),
    ({"short_name": "S" * 101}, "short_name", "Maximum of 100 characters"),
    ({"short_name": "MATH"}, "short_name", "Short name is already used for another course (Mathematics)"),
    ({"grade_max": "0"}, "grade_max", "Enter a number greater than 0"),
    ({"grade_max": "-3"}, "grade_max", "Enter a number greater than 0"),
    ({"grade_max": "lots"}, "grade_max", "Enter a number greater than 0"),
    ({"grade_max": "NaN"}, "grade_max", "Enter a number greater than 0"),
])
def test_course_form_rejects_bad_input(client, db, world, changes, field, message):
    login(client, "admin")
    before = _count(db, Course)
    response = post_form(client, "/course/new", {**VALID, **changes})
    assert response.status_code == 400
    assert field_errors(response)[field] == message
    db.session.expire_all()
    assert _count(db, Course) == before


def test_course_form_without_csrf_is_refused(client, db, world):
    login(client, "admin")
    assert client.post("/course/new", data=VALID).status_code == 400
    assert _count(db, Course) == 1


@pytest.mark.parametrize("username", ["teach", "assist", "stud", "other"])
def test_only_admins_manage_courses(client, world, username):
    login(client, username)
    course_id = world.course.id
    for path in ("/course/new", f"/course/{course_id}/edit", f"/course/{course_id}/delete"):
        assert client.get(path).status_code == 403
    token = csrf_token(client, "/courses")
    assert client.post(f"/course/{course_id}/delete", data={"csrf_token": token}).status_code == 403
    assert client.post("/course/new", data={**VALID, "csrf_token": token}).status_code == 403


def test_admin_edits_a_course(client, db, world):
    login(client, "admin")
    path = f"/course/{world.course.id}/edit"
    page = client.get(path).get_data(as_text=True)
    assert 'value="Mathematics"' in page and 'value="MATH"' in page
    response = post_form(client, path, {**VALID, "short_name": "MATH", "visible": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    course = db.session.get(Course, world.course.id)
    assert (course.full_name, course.short_name, course.visible) == ("Physics for beginners", "MATH", False)


def test_edit_refuses_another_courses_short_name(client, db, world):
    other = Course(full_name="Art", short_name="ART")
    db.session.add(other)
    db.session.commit()
    login(client, "admin")
    response = post_form(client, f"/course/{world.course.id}/edit", {**VALID, "short_name": "ART"})
    assert response.status_code == 400
    assert field_errors(response)["short_name"] == "Short name is already used for another course (Art)"
    db.session.expire_all()
    assert db.session.get(Course, world.course.id).short_name == "MATH"


def test_admin_deletes_a_course_after_confirming(client, db, world):
    make_activity(world.course, "page", "Intro")
    resource_id, course_id = make_resource(world.course).id, world.course.id
    login(client, "admin")
    path = f"/course/{course_id}/delete"
    assert "Delete Mathematics (MATH)?" in client.get(path).get_data(as_text=True)
    assert client.post(path).status_code == 400  # no CSRF token: nothing deleted
    assert db.session.get(Course, course_id) is not None
    response = post_form(client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/courses"
    db.session.expire_all()
    assert db.session.get(Course, course_id) is None
    assert _count(db, Activity) == 0 and _count(db, Enrolment) == 0 and _count(db, RoleAssignment) == 0
    assert db.session.get(PublishedResource, resource_id) is None


def test_unknown_course_ids_are_404(client, world):
    login(client, "admin")
    for path in ("/course/999", "/course/999/edit", "/course/999/delete", "/course/999/participants",
                 "/course/999/grades", "/course/999/grades/me", "/course/999/activity/new?type=page"):
        assert client.get(path).status_code == 404, path


def test_course_list_shows_visible_courses_and_everything_to_admins(client, db, world):
    db.session.add(Course(full_name="Secret plans", short_name="HIDDEN", visible=False))
    db.session.commit()
    login(client, "stud")
    page = client.get("/courses").get_data(as_text=True)
    assert "Mathematics" in page and "Secret plans" not in page and "Add a new course" not in page
    switch_user(client, "admin")
    page = client.get("/courses").get_data(as_text=True)
    assert "Secret plans" in page and "Add a new course" in page


@pytest.mark.parametrize("username, visible, status", [
    ("admin", True, 200), ("teach", True, 200), ("assist", True, 200), ("stud", True, 200), ("other", True, 403),
    ("admin", False, 200), ("teach", False, 200), ("assist", False, 200), ("stud", False, 403),
])
def test_course_page_access(client, db, world, username, visible, status):
    world.course.visible = visible
    db.session.commit()
    login(client, username)
    assert client.get(f"/course/{world.course.id}").status_code == status


def test_activity_only_roles_do_not_see_the_course_page(client, world):
    quiz = make_activity(world.course, "quiz", "Quiz 1")
    world.activity_only(quiz)
    login(client, "visitor")
    assert client.get(f"/course/{world.course.id}").status_code == 403
    assert client.get(f"/activity/{quiz.id}").status_code == 200


def test_course_page_lists_activities_in_order_with_staff_links(client, db, world):
    first = make_activity(world.course, "page", "Welcome")
    make_activity(world.course, "quiz", "Check-in quiz")
    hidden = make_activity(world.course, "assignment", "Draft essay", visible=False)
    login(client, "teach")
    page = client.get(f"/course/{world.course.id}").get_data(as_text=True)
    assert page.index("Welcome") < page.index("Check-in quiz") < page.index("Draft essay")
    assert "Hidden from students" in page
    assert f'/activity/{first.id}/edit' in page and "Add a quiz" in page
    assert f'href="/course/{world.course.id}/participants"' in page
    assert f'href="/course/{world.course.id}/lti"' in page and "Published as LTI tools" in page
    switch_user(client, "stud")
    page = client.get(f"/course/{world.course.id}").get_data(as_text=True)
    assert "Welcome" in page and "Draft essay" not in page and f"/activity/{hidden.id}" not in page
    assert "/edit" not in page and "Published as LTI tools" not in page and "/participants" not in page
    assert f'href="/course/{world.course.id}/grades/me"' in page


def test_non_editing_teachers_see_lti_link_but_cannot_edit(client, world):
    make_activity(world.course, "page", "Welcome")
    login(client, "assist")
    page = client.get(f"/course/{world.course.id}").get_data(as_text=True)
    assert "Published as LTI tools" in page and f'href="/course/{world.course.id}/grades"' in page
    assert "/edit" not in page and "Add a page" not in page and "/participants" not in page


# ---------------------------------------------------------------- participants and enrolment

def test_participants_page_lists_roles_methods_and_status(client, db, world):
    quiz = make_activity(world.course, "quiz", "Quiz 1")
    visitor = world.activity_only(quiz)
    resource = make_resource(world.course, quiz, name="Quiz for Canvas")
    db.session.execute(db.update(Enrolment).where(Enrolment.user_id == visitor.id)
                       .values(published_resource_id=resource.id))
    world.student.email_visibility = 0
    db.session.commit()
    login(client, "teach")
    page = client.get(f"/course/{world.course.id}/participants").get_data(as_text=True)
    for text in ("Tom Teacher", "Non-editing teacher", "Student (Quiz 1)", "Manual enrolments",
                 "Publish as LTI tool: Quiz for Canvas", "Active", "assist@example.org"):
        assert text in page, text
    assert "stud@example.org" not in page  # hidden email
    for header in ("Name", "Email", "Roles", "Enrolment methods", "Status"):
        assert f'<th scope="col">{header}</th>' in page


@pytest.mark.parametrize("username", ["assist", "stud", "other"])
def test_only_teachers_and_admins_manage_enrolments(client, world, username):
    login(client, username)
    base = f"/course/{world.course.id}/participants"
    for path in (base, f"{base}/enrol", f"{base}/{world.student.id}/unenrol"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    response = client.post(f"{base}/enrol", data={"user": world.outsider.id, "role": "student", "csrf_token": token})
    assert response.status_code == 403


def test_teacher_enrols_and_changes_a_role(client, db, world):
    login(client, "teach")
    path = f"/course/{world.course.id}/participants/enrol"
    response = post_form(client, path, {"user": world.outsider.id, "role": "noneditingteacher"})
    assert response.status_code == 302
    assert "Otto Outsider enrolled as Non-editing teacher" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    response = post_form(client, path, {"user": world.outsider.id, "role": "student"})
    assert response.status_code == 302
    db.session.expire_all()
    roles = db.session.execute(db.select(RoleAssignment.role).where(
        RoleAssignment.user_id == world.outsider.id)).scalars().all()
    assert roles == ["student"]


@pytest.mark.parametrize("data, field, message", [
    ({"user": "0", "role": "student"}, "user", "Choose a user"),
    ({"user": "987654", "role": "student"}, "user", "Choose a user"),
    ({"role": "student"}, "user", "Choose a user"),
    ({"user": "{outsider}", "role": "manager"}, "role", "Not a valid choice."),
])
def test_enrol_form_rejects_bad_input(client, db, world, data, field, message):
    login(client, "teach")
    data = {key: value.format(outsider=world.outsider.id) for key, value in data.items()}
    before = _count(db, Enrolment)
    response = post_form(client, f"/course/{world.course.id}/participants/enrol", data)
    assert response.status_code == 400
    assert message in field_errors(response)[field]
    db.session.expire_all()
    assert _count(db, Enrolment) == before


def test_teacher_unenrols_after_confirming(client, db, world):
    login(client, "teach")
    path = f"/course/{world.course.id}/participants/{world.student.id}/unenrol"
    assert "Unenrol Sue Student (stud) from Mathematics?" in client.get(path).get_data(as_text=True)
    assert client.post(path).status_code == 400
    assert post_form(client, path).status_code == 302
    db.session.expire_all()
    assert db.session.query(Enrolment).filter_by(user_id=world.student.id).count() == 0
    assert db.session.query(RoleAssignment).filter_by(user_id=world.student.id).count() == 0
    assert client.get(path).status_code == 404  # no longer enrolled


def test_unenrol_of_someone_not_enrolled_is_404(client, world):
    login(client, "teach")
    assert client.get(f"/course/{world.course.id}/participants/{world.outsider.id}/unenrol").status_code == 404
    assert client.get(f"/course/{world.course.id}/participants/99999/unenrol").status_code == 404


# ---------------------------------------------------------------- dashboard

def test_dashboard_lists_my_courses_and_activity_only_roles(client, db, world):
    quiz = make_activity(world.course, "quiz", "Quiz 1")
    other_course = Course(full_name="History", short_name="HIS")
    db.session.add(other_course)
    db.session.commit()
    world.activity_only(quiz, "visitor")
    login(client, "stud")
    page = client.get("/").get_data(as_text=True)
    assert "Mathematics" in page and "History" not in page and "Not completed" in page
    switch_user(client, "visitor")
    page = client.get("/").get_data(as_text=True)
    assert "My activities" in page and f'href="/activity/{quiz.id}"' in page
    assert f'href="/course/{world.course.id}"' not in page


def test_dashboard_when_enrolled_nowhere(client, world):
    make_user("lonely")
    login(client, "lonely")
    assert "You are not enrolled in any course yet." in client.get("/").get_data(as_text=True)


def test_hidden_course_is_not_on_a_students_dashboard(client, db, world):
    world.course.visible = False
    db.session.commit()
    login(client, "stud")
    assert "Mathematics" not in client.get("/").get_data(as_text=True)
    switch_user(client, "teach")
    assert "Mathematics" in client.get("/").get_data(as_text=True)


def test_manual_enrolment_is_unique_per_course(db, world):
    from app.services.courses.enrolments import enrol_user

    enrol_user(world.course, world.student, "teacher")
    db.session.commit()
    assert db.session.query(Enrolment).filter_by(user_id=world.student.id).count() == 1
    assert db.session.query(RoleAssignment).filter_by(user_id=world.student.id).one().role == "teacher"
