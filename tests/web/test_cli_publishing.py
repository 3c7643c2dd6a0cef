"""`flask --app wsgi lti publish` and `lti published …`, with --json."""
import json
import re
import uuid

import pytest

from app.extensions import db as _db
from app.models import Enrolment, PublishedResource
from tests.factories import make_registration, make_resource, make_user
from tests.web.publishing_helpers import course_with_staff

BASE = "http://127.0.0.1:5000"


@pytest.fixture
def setup(app):
    return course_with_staff()


def _json(runner, *args: str) -> tuple[int, dict]:
    result = runner.invoke(args=["lti", *args, "--json"])
    return result.exit_code, json.loads(result.output)


def test_publish_a_course(runner, setup):
    code, data = _json(runner, "publish", "PHYS1")
    assert code == 0
    resource = _db.session.get(PublishedResource, data["id"])
    assert uuid.UUID(data["uuid"]).version == 4 and data["uuid"] == resource.uuid
    assert data["launch_url"] == f"{BASE}/lti/launch"
    assert data["custom_properties"] == f"id={resource.uuid}"
    assert data["teacher_provisioning"] == "Existing and new accounts (prompt)"
    assert data["student_provisioning"] == "New accounts only (automatic)"
    assert (data["grade_sync"], data["member_sync"], data["type"]) == (True, True, "Course")
    assert "secret" not in data


def test_publish_an_activity_as_legacy_with_options(runner, setup):
    code, data = _json(runner, "publish", "PHYS1", "--activity", "Forces quiz", "--legacy", "--name", "Quiz 1.1",
                       "--no-grade-sync", "--no-member-sync", "--teacher-provisioning", "existing",
                       "--student-provisioning", "prompt")
    assert code == 0
    resource = _db.session.get(PublishedResource, data["id"])
    assert (resource.activity_id, resource.name, resource.lti_version) == (setup.quiz.id, "Quiz 1.1", "legacy")
    assert (resource.grade_sync, resource.member_sync) == (False, False)
    assert (resource.provisioning_mode_instructor, resource.provisioning_mode_learner) == (3, 2)
    assert data["launch_url"] == f"{BASE}/lti/v1/launch/{resource.id}"
    assert data["secret"] == resource.secret and re.fullmatch(r"[A-Za-z0-9]{32}", data["secret"])
    assert data["cartridge_url"] == f"{BASE}/lti/v1/cartridge/{resource.id}/{resource.legacy_token}.xml"
    assert data["registration_url"] == f"{BASE}/lti/v2/register/{resource.id}/{resource.legacy_token}"


def test_publish_text_output(runner, setup):
    result = runner.invoke(args=["lti", "publish", "PHYS1"])
    assert result.exit_code == 0
    resource = _db.session.query(PublishedResource).one()
    assert f"custom_properties: id={resource.uuid}" in result.output
    assert f"launch_url: {BASE}/lti/launch" in result.output


def test_publish_available_to_registrations(runner, setup):
    moodle = make_registration("School Moodle")
    code, data = _json(runner, "publish", "PHYS1", "--available-to", str(moodle.id))
    assert code == 0 and data["available_to"] == ["School Moodle"]
    canvas = make_registration("District Canvas")
    code, data = _json(runner, "publish", "PHYS1", "--available-to", f"{moodle.id},{canvas.id}")
    assert code == 0 and data["available_to"] == ["School Moodle", "District Canvas"]
    code, data = _json(runner, "publish", "PHYS1", "--available-to", str(moodle.id), "--available-to", "9999")
    assert code == 1 and data["errors"] == {"registrations": "Registration 9999 does not exist."}


@pytest.mark.parametrize("args, message", [
    (["--activity", "No such activity"], "Select the course or one of its activities."),
    (["--name", "x" * 256], "Maximum of 255 characters"),
])
def test_publish_validation_uses_the_ui_messages(runner, setup, args, message):
    code, data = _json(runner, "publish", "PHYS1", *args)
    assert code == 1 and data["error"] == message
    assert _db.session.query(PublishedResource).count() == 0
    result = runner.invoke(args=["lti", "publish", "PHYS1", *args])
    assert result.exit_code == 1 and f"Error: {message}" in result.output


def test_publish_unknown_course(runner, setup):
    code, data = _json(runner, "publish", "NOPE")
    assert code == 1 and data["error"] == "Course not found: NOPE"


def test_list_show_disable_enable(runner, setup):
    other = course_with_staff("CHEM1", "Chemistry 1")
    legacy = make_resource(setup.course, legacy=True, name="Old style")
    make_resource(other.course)
    code, rows = _json(runner, "published", "list")
    assert code == 0 and len(rows) == 2
    assert all("secret" not in row for row in rows)
    code, rows = _json(runner, "published", "list", "--course", "PHYS1")
    assert [row["name"] for row in rows] == ["Old style"]
    code, data = _json(runner, "published", "show", str(legacy.id))
    assert code == 0 and data["secret"] == legacy.secret and data["status"] == "Enabled"
    code, data = _json(runner, "published", "disable", str(legacy.id))
    assert code == 0 and data["message"] == "Published resource disabled."
    _db.session.expire_all()
    assert _db.session.get(PublishedResource, legacy.id).enabled is False
    result = runner.invoke(args=["lti", "published", "enable", str(legacy.id)])
    assert result.exit_code == 0 and "Published resource enabled." in result.output
    _db.session.expire_all()
    assert _db.session.get(PublishedResource, legacy.id).enabled is True
    code, data = _json(runner, "published", "show", "424242")
    assert code == 1 and data["error"] == "Published resource not found: 424242"


def test_delete_needs_yes(runner, setup):
    resource = make_resource(setup.course, name="Busy")
    resource_id = resource.id
    _db.session.add(Enrolment(course_id=setup.course.id, user_id=make_user("remote").id,
                              published_resource_id=resource_id))
    _db.session.commit()
    code, data = _json(runner, "published", "delete", str(resource_id))
    assert code == 1
    assert data["error"] == ('You are about to delete the published resource "Busy". All 1 users currently enrolled '
                             'using this method will be unenrolled. Their accounts and grades are kept. Add --yes to '
                             'continue.')
    assert _db.session.get(PublishedResource, resource_id) is not None
    code, data = _json(runner, "published", "delete", str(resource_id), "--yes")
    assert code == 0 and data["unenrolled"] == 1 and data["message"] == "Published resource deleted."
    _db.session.expire_all()
    assert _db.session.get(PublishedResource, resource_id) is None
    assert _db.session.query(Enrolment).filter_by(published_resource_id=resource_id).count() == 0


def test_demo_seed_publishes_demo1_course_and_quiz_once(runner, app):
    for _ in range(2):
        result = runner.invoke(args=["demo", "seed", "--json"])
        assert result.exit_code == 0, result.output
    _db.session.expire_all()
    resources = _db.session.query(PublishedResource).order_by(PublishedResource.id).all()
    assert [(r.course.short_name, r.target, r.lti_version, r.enabled) for r in resources] == [
        ("DEMO1", "course", "1.3", True), ("DEMO1", "activity", "1.3", True)]
    assert resources[1].activity.type == "quiz"
    assert all(uuid.UUID(resource.uuid).version == 4 for resource in resources)
