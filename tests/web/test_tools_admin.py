"""Site administration > Published resources: every published resource on the site."""
import re

from app.extensions import db as _db
from app.models import Enrolment, LtiUser
from app.models.base import utcnow
from tests.factories import make_registration, make_resource, make_user
from tests.helpers import login
from tests.web.publishing_helpers import course_with_staff


def _rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


def test_lists_every_resource_with_its_columns(client, app, admin):
    physics = course_with_staff("PHYS1", "Physics 1")
    chemistry = course_with_staff("CHEM1", "Chemistry 1")
    moodle = make_registration("School Moodle")
    course_wide = make_resource(physics.course, available_to="selected", grade_sync=False)
    course_wide.registrations = [moodle]
    make_resource(physics.course, physics.quiz, enabled=False)
    make_resource(chemistry.course, chemistry.page, legacy=True, name="Chem reading")
    learner = make_user("learner")
    _db.session.add(Enrolment(course_id=physics.course.id, user_id=learner.id,
                              published_resource_id=course_wide.id))
    _db.session.add(LtiUser(user_id=learner.id, published_resource_id=course_wide.id, subject="s1",
                            last_access_at=utcnow()))
    _db.session.commit()
    login(client, "admin")
    html = client.get("/admin/lti/published").get_data(as_text=True)
    assert "<h1>Published resources</h1>" in html
    assert 'class="active" aria-current="page">Published resources</a>' in html
    for header in ("Course", "Name", "Type", "LTI version", "Status", "Available to", "Users", "Grade sync",
                   "User sync", "Last launch", "Actions"):
        assert f'<th scope="col">{header}</th>' in html
    rows = _rows(html)
    assert len(rows) == 3
    chem_row = next(row for row in rows if "Chem reading" in row)
    assert "Activity" in chem_row and "Legacy LTI (1.1/2.0)" in chem_row and "Enabled" in chem_row
    assert f'href="/course/{chemistry.course.id}/lti?tab=legacy">Published as LTI tools</a>' in chem_row
    physics_row = next(row for row in rows if f"/course/{physics.course.id}/lti\"" in row and "School Moodle" in row)
    assert "<td>1</td>" in physics_row and "<td>Off</td>" in physics_row and "Never" not in physics_row
    quiz_row = next(row for row in rows if "Forces quiz" in row)
    assert "Disabled" in quiz_row and "All registered platforms" in quiz_row and "Never" in quiz_row


def test_filters(client, app, admin):
    physics = course_with_staff("PHYS1", "Physics 1")
    chemistry = course_with_staff("CHEM1", "Chemistry 1")
    make_resource(physics.course, name="P advantage")
    make_resource(physics.course, legacy=True, name="P legacy", enabled=False)
    make_resource(chemistry.course, name="C advantage")
    login(client, "admin")

    def names(query: str) -> list[str]:
        html = client.get(f"/admin/lti/published?{query}").get_data(as_text=True)
        return sorted(re.findall(r"<td>([PC] (?:advantage|legacy))</td>", html))

    assert names("") == ["C advantage", "P advantage", "P legacy"]
    assert names("version=legacy") == ["P legacy"]
    assert names("version=1.3") == ["C advantage", "P advantage"]
    assert names("status=disabled") == ["P legacy"]
    assert names("status=enabled") == ["C advantage", "P advantage"]
    assert names(f"course={chemistry.course.id}") == ["C advantage"]
    assert names(f"course={physics.course.id}&status=enabled") == ["P advantage"]
    assert names("version=bogus&status=bogus") == ["C advantage", "P advantage", "P legacy"]


def test_paged_fifty(client, app, admin):
    physics = course_with_staff()
    for index in range(51):
        make_resource(physics.course, name=f"R{index:02d}")
    login(client, "admin")
    first = client.get("/admin/lti/published").get_data(as_text=True)
    assert len(_rows(first)) == 50 and "Page 1 of 2" in first
    assert len(_rows(client.get("/admin/lti/published?page=2").get_data(as_text=True))) == 1


def test_only_admins(client, app):
    physics = course_with_staff()
    login(client, physics.teacher.username)
    assert client.get("/admin/lti/published").status_code == 403
    response = app.test_client().get("/admin/lti/published")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
