"""The publish form: defaults, every field's validation, create and edit."""
import re
import uuid

import pytest

from app.extensions import db as _db
from app.models import Activity, PublishedResource
from app.services.platforms.settings import save_user_defaults
from tests.factories import make_course, make_registration, make_resource
from tests.helpers import login, post_form
from tests.web.publishing_helpers import course_with_staff, form_payload


@pytest.fixture
def setup(app):
    return course_with_staff()


@pytest.fixture
def teacher_client(client, setup):
    login(client, setup.teacher.username)
    return client


def _selected(html: str, field: str) -> str:
    select = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {field}"
    option = re.search(r'<option\b[^>]*\bselected\b[^>]*>([^<]*)</option>', select.group(1))
    assert option, f"nothing selected in {field}"
    return option.group(1)


def _resources() -> int:
    return _db.session.query(PublishedResource).count()


def _field_error(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else None


def test_new_form_shows_every_field_with_spec_defaults(teacher_client, setup):
    html = teacher_client.get(f"/course/{setup.course.id}/lti/new").get_data(as_text=True)
    for label in ("LTI version", "Custom instance name", "Tool to be published", "Enrolment duration", "Start date",
                  "End date", "Maximum enrolled users", "Role for teacher", "Role for student",
                  "Teacher first launch provisioning mode", "Student first launch provisioning mode", "Available to",
                  "Secret", "Grade synchronisation",
                  "Require course or activity completion prior to grade synchronisation", "User synchronisation",
                  "User synchronisation mode", "Email visibility", "City/town", "Select a country", "Timezone",
                  "Preferred language", "Institution"):
        assert f">{label}</" in html, label
    assert "<title>Publish as LTI tool |" in html and "<h1>Publish as LTI tool</h1>" in html
    assert _selected(html, "lti_version") == "LTI Advantage"
    assert _selected(html, "target") == "Course"
    assert ">Forces quiz</option>" in html and ">Reading list</option>" in html
    assert _selected(html, "role_instructor") == "Teacher"
    assert _selected(html, "role_learner") == "Student"
    assert _selected(html, "provisioning_mode_instructor") == "Existing and new accounts (prompt)"
    assert _selected(html, "provisioning_mode_learner") == "New accounts only (automatic)"
    assert _selected(html, "grade_sync") == "Yes"
    assert _selected(html, "grade_sync_completion") == "No"
    assert _selected(html, "member_sync") == "Yes"
    assert _selected(html, "member_sync_mode") == "Enrol new and unenrol missing users"
    assert _selected(html, "email_visibility") == "Visible to course participants"
    assert re.search(r'id="max_enrolled"[^>]*value="0"|value="0"[^>]*id="max_enrolled"', html)
    assert re.search(r'id="available_to-0"[^>]*checked|checked[^>]*id="available_to-0"', html)
    secret = re.search(r'id="secret"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*id="secret"', html)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", secret.group(1) or secret.group(2))
    assert "Show more..." in html and "Add method" in html
    assert f'href="/course/{setup.course.id}/lti">Cancel' in html
    assert "Enrolment end date" not in html  # no message before a submit


def test_legacy_flag_and_site_user_defaults_prefill_the_form(teacher_client, setup, db):
    save_user_defaults({"city": "Lyon", "country": "FR", "institution": "Lycée Ampère", "email_visibility": 0})
    db.session.commit()
    html = teacher_client.get(f"/course/{setup.course.id}/lti/new?legacy=1").get_data(as_text=True)
    assert _selected(html, "lti_version") == "Legacy LTI (1.1/2.0)"
    assert _selected(html, "country") == "France"
    assert _selected(html, "email_visibility") == "Hidden"
    assert 'value="Lyon"' in html and 'value="Lycée Ampère"' in html
    assert f'href="/course/{setup.course.id}/lti?tab=legacy">Cancel' in html


def test_publishing_the_course_creates_an_enabled_lti_advantage_resource(teacher_client, setup, db):
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new",
                         form_payload(name="Physics for Moodle", max_enrolled="25", city="Bristol"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/course/{setup.course.id}/lti"
    db.session.expire_all()
    resource = db.session.query(PublishedResource).one()
    assert uuid.UUID(resource.uuid).version == 4 and len(resource.uuid) == 36
    assert (resource.enabled, resource.target, resource.activity_id, resource.lti_version) == \
        (True, "course", None, "1.3")
    assert (resource.name, resource.max_enrolled, resource.city) == ("Physics for Moodle", 25, "Bristol")
    assert (resource.provisioning_mode_instructor, resource.provisioning_mode_learner) == (2, 1)
    assert resource.secret is None and resource.legacy_token is None
    page = teacher_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Changes saved" in page and f"id={resource.uuid}" in page


def test_publishing_an_activity_with_dates_and_duration(teacher_client, setup, db):
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new", form_payload(
        target=str(setup.quiz.id), enrol_period_enabled="y", enrol_period="2", enrol_period_unit="weeks",
        enrol_start_enabled="y", enrol_start="2030-01-01T09:00", enrol_end_enabled="y", enrol_end="2030-02-01T17:30",
        role_learner="noneditingteacher", provisioning_mode_learner="3", member_sync_mode="2"))
    assert response.status_code == 302
    db.session.expire_all()
    resource = db.session.query(PublishedResource).one()
    assert (resource.target, resource.activity_id) == ("activity", setup.quiz.id)
    assert resource.enrol_period == 14 * 86400
    assert resource.enrol_start.isoformat() == "2030-01-01T09:00:00+00:00"
    assert resource.enrol_end.isoformat() == "2030-02-01T17:30:00+00:00"
    assert (resource.role_learner, resource.provisioning_mode_learner, resource.member_sync_mode) == \
        ("noneditingteacher", 3, 2)
    edit = teacher_client.get(f"/course/{setup.course.id}/lti/{resource.id}/edit").get_data(as_text=True)
    assert _selected(edit, "target") == "Forces quiz"
    assert _selected(edit, "enrol_period_unit") == "weeks"
    assert 'value="2030-01-01T09:00"' in edit and "Save changes" in edit


def test_dates_are_read_in_the_viewers_timezone(teacher_client, setup, db):
    setup.teacher.timezone = "Europe/Paris"
    db.session.commit()
    post_form(teacher_client, f"/course/{setup.course.id}/lti/new",
              form_payload(enrol_start_enabled="y", enrol_start="2030-07-01T10:00"))
    db.session.expire_all()
    assert db.session.query(PublishedResource).one().enrol_start.isoformat() == "2030-07-01T08:00:00+00:00"


def test_publishing_legacy_keeps_the_secret_and_makes_a_random_token(teacher_client, setup, db):
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new",
                         form_payload(lti_version="legacy", secret="MySecretOfSixteen42"))
    assert response.headers["Location"] == f"/course/{setup.course.id}/lti?tab=legacy"
    db.session.expire_all()
    resource = db.session.query(PublishedResource).one()
    assert resource.secret == "MySecretOfSixteen42" and resource.uuid is None
    assert re.fullmatch(r"[0-9a-f]{32}", resource.legacy_token)


def _other_course_activity() -> Activity:
    other = make_course("OTHER", "Other course")
    activity = Activity(course_id=other.id, type="page", name="Foreign page", position=1)
    _db.session.add(activity)
    _db.session.commit()
    return activity


@pytest.mark.parametrize("overrides, field, message", [
    ({"name": "x" * 256}, "name", "Maximum of 255 characters"),
    ({"target": "999999"}, "target", "Select the course or one of its activities."),
    ({"target": "course; DROP"}, "target", "Select the course or one of its activities."),
    ({"enrol_period_enabled": "y", "enrol_period": "0"}, "enrol_period",
     "The enrolment duration must be greater than zero."),
    ({"enrol_period_enabled": "y", "enrol_period": "-3"}, "enrol_period",
     "The enrolment duration must be greater than zero."),
    ({"enrol_start_enabled": "y", "enrol_start": "2030-05-02T10:00", "enrol_end_enabled": "y",
      "enrol_end": "2030-05-01T10:00"}, "enrol_end", "Enrolment end date cannot be earlier than start date"),
    ({"enrol_start_enabled": "y", "enrol_start": ""}, "enrol_start", "Required"),
    ({"max_enrolled": "-1"}, "max_enrolled", "Enter zero or a positive whole number."),
    ({"max_enrolled": "2.5"}, "max_enrolled", "Enter zero or a positive whole number."),
    ({"max_enrolled": "ten"}, "max_enrolled", "Enter zero or a positive whole number."),
    ({"max_enrolled": "9" * 30}, "max_enrolled", "Enter at most 1000000000."),
    ({"enrol_period_enabled": "y", "enrol_period": "9" * 5000}, "enrol_period",
     "The enrolment duration can be at most 100 years."),
    ({"enrol_period_enabled": "y", "enrol_period": "5300", "enrol_period_unit": "weeks"}, "enrol_period",
     "The enrolment duration can be at most 100 years."),
    ({"lti_version": "legacy", "secret": ""}, "secret", "Required"),
    ({"lti_version": "legacy", "secret": "abc-123"}, "secret", "Only letters and digits are allowed."),
    ({"lti_version": "legacy", "secret": "x"}, "secret",
     "The secret is too short: use at least 16 letters and digits (the generated one has 32)."),
    ({"lti_version": "legacy", "secret": "Short15Letters1"}, "secret",
     "The secret is too short: use at least 16 letters and digits (the generated one has 32)."),
    ({"lti_version": "legacy", "secret": "é" * 10}, "secret", "Only letters and digits are allowed."),
    ({"available_to": "selected"}, "registrations", "Select at least one registration."),
    ({"available_to": "selected", "registrations": "424242"}, "registrations", "Registration 424242 does not exist."),
    ({"role_instructor": "admin"}, "role_instructor", "Not a valid choice."),
    ({"provisioning_mode_learner": "7"}, "provisioning_mode_learner", "Not a valid choice."),
    ({"city": "c" * 121}, "city", "Maximum of 120 characters"),
    ({"institution": "i" * 41}, "institution", "Maximum of 40 characters"),
])
def test_invalid_field_shows_its_message_and_writes_nothing(teacher_client, setup, overrides, field, message):
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new", form_payload(**overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert _field_error(html, field) == message
    assert _resources() == 0


def test_activity_from_another_course_is_refused(teacher_client, setup):
    foreign = _other_course_activity()
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new", form_payload(target=str(foreign.id)))
    assert response.status_code == 400
    assert _field_error(response.get_data(as_text=True), "target") == "Select the course or one of its activities."
    assert _resources() == 0


def test_every_message_shows_at_once_and_input_is_kept(teacher_client, setup):
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new", form_payload(
        name="n" * 300, max_enrolled="-4", enrol_start_enabled="y", enrol_start="not a date"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_error(html, "name") == "Maximum of 255 characters"
    assert _field_error(html, "max_enrolled") == "Enter zero or a positive whole number."
    assert _field_error(html, "enrol_start") == "Not a valid datetime value."
    assert 'value="-4"' in html and "n" * 300 in html
    assert _resources() == 0


def test_a_disabled_date_is_ignored(teacher_client, setup, db):
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new",
                         form_payload(enrol_start="garbage", enrol_end="2000-01-01T00:00"))
    assert response.status_code == 302
    db.session.expire_all()
    resource = db.session.query(PublishedResource).one()
    assert resource.enrol_start is None and resource.enrol_end is None


def test_dependent_settings_follow_their_switch(teacher_client, setup, db):
    """Completion is off while grade sync is off; the sync mode is kept while user sync is off."""
    post_form(teacher_client, f"/course/{setup.course.id}/lti/new",
              form_payload(grade_sync="0", grade_sync_completion="1", member_sync="1", member_sync_mode="3"))
    db.session.expire_all()
    resource = db.session.query(PublishedResource).one()
    assert (resource.grade_sync, resource.grade_sync_completion, resource.member_sync_mode) == (False, False, 3)
    payload = form_payload(member_sync="0", member_sync_mode="1")
    post_form(teacher_client, f"/course/{setup.course.id}/lti/{resource.id}/edit", payload)
    db.session.expire_all()
    resource = db.session.get(PublishedResource, resource.id)
    assert (resource.member_sync, resource.member_sync_mode) == (False, 3)


def test_available_to_selected_registrations(teacher_client, setup, db):
    moodle = make_registration("School Moodle", issuer="https://moodle.example.org")
    canvas = make_registration("District Canvas", issuer="https://canvas.example.org")
    html = teacher_client.get(f"/course/{setup.course.id}/lti/new").get_data(as_text=True)
    assert ">School Moodle</option>" in html and ">District Canvas</option>" in html
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/new",
                         form_payload(available_to="selected", registrations=[str(moodle.id), str(canvas.id)]))
    assert response.status_code == 302
    db.session.expire_all()
    resource = db.session.query(PublishedResource).one()
    assert resource.available_to == "selected"
    assert sorted(registration.name for registration in resource.registrations) == ["District Canvas", "School Moodle"]
    page = teacher_client.get(f"/course/{setup.course.id}/lti").get_data(as_text=True)
    assert "Available to: School Moodle, District Canvas" in page


def test_edit_keeps_the_uuid_and_saves_changes(teacher_client, setup, db):
    resource = make_resource(setup.course, name="Before")
    original = resource.uuid
    response = post_form(teacher_client, f"/course/{setup.course.id}/lti/{resource.id}/edit",
                         form_payload(name="After", target=str(setup.page.id)))
    assert response.status_code == 302
    db.session.expire_all()
    resource = db.session.get(PublishedResource, resource.id)
    assert (resource.name, resource.uuid, resource.activity_id) == ("After", original, setup.page.id)
    assert "Changes saved" in teacher_client.get(response.headers["Location"]).get_data(as_text=True)


def test_switching_versions_creates_identifiers_once_and_never_changes_them(teacher_client, setup, db):
    resource = make_resource(setup.course, legacy=True)
    token = resource.legacy_token
    assert resource.uuid is None
    url = f"/course/{setup.course.id}/lti/{resource.id}/edit"
    response = post_form(teacher_client, url, form_payload(lti_version="1.3"))
    assert response.headers["Location"] == f"/course/{setup.course.id}/lti"
    db.session.expire_all()
    resource = db.session.get(PublishedResource, resource.id)
    created = resource.uuid
    assert uuid.UUID(created).version == 4
    post_form(teacher_client, url, form_payload(lti_version="legacy", secret="NewSecretOfSixteen1"))
    post_form(teacher_client, url, form_payload(lti_version="1.3"))
    db.session.expire_all()
    resource = db.session.get(PublishedResource, resource.id)
    assert (resource.uuid, resource.legacy_token, resource.secret) == (created, token, "NewSecretOfSixteen1")


def test_legacy_tokens_are_random_not_derived_from_the_id(teacher_client, setup, db):
    for _ in range(3):
        post_form(teacher_client, f"/course/{setup.course.id}/lti/new", form_payload(lti_version="legacy"))
    db.session.expire_all()
    tokens = [resource.legacy_token for resource in db.session.query(PublishedResource).order_by(PublishedResource.id)]
    assert len(set(tokens)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", token) for token in tokens)
    # Consecutive ids must not give related tokens (no counter, no hash prefix in common).
    assert len({token[:8] for token in tokens}) == 3


def test_editing_a_resource_of_another_course_is_404(teacher_client, setup):
    other = make_course("OTHER", "Other course")
    foreign = make_resource(other)
    url = f"/course/{setup.course.id}/lti/{foreign.id}/edit"
    assert teacher_client.get(url).status_code == 404
    assert post_form(teacher_client, url, form_payload(name="Hijack"),
                     token_from=f"/course/{setup.course.id}/lti/new").status_code == 404
    _db.session.expire_all()
    assert _db.session.get(PublishedResource, foreign.id).name == ""


def test_form_without_csrf_is_refused(teacher_client, setup):
    response = teacher_client.post(f"/course/{setup.course.id}/lti/new", data=form_payload())
    assert response.status_code == 400
    assert _resources() == 0


def test_editing_a_deleted_activity_publication_asks_for_a_new_target(teacher_client, setup, db):
    resource = make_resource(setup.course, setup.quiz, name="Old quiz link", enabled=False)
    setup.quiz.course.activities.remove(setup.quiz)  # the activity goes; the publication stays
    db.session.commit()
    url = f"/course/{setup.course.id}/lti/{resource.id}/edit"
    assert _selected(teacher_client.get(url).get_data(as_text=True), "target") == "Deleted activity"
    response = post_form(teacher_client, url, form_payload(name="Renamed", target=""))
    assert response.status_code == 400
    assert _field_error(response.get_data(as_text=True), "target") == "Select the course or one of its activities."
    response = post_form(teacher_client, url, form_payload(name="Renamed", target=str(setup.page.id)))
    assert response.status_code == 302
    db.session.expire_all()
    resource = db.session.get(PublishedResource, resource.id)
    assert (resource.activity_id, resource.name, resource.enabled) == (setup.page.id, "Renamed", False)
