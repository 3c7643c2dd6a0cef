"""A launched session keeps its course and activity only while the enrolment lasts: the resource's end date and
the enrolment duration are enforced on every request, not only when the launch happens."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Enrolment, PublishedResource
from app.models.base import utcnow
from app.services.courses import permissions
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch

BASE = "http://127.0.0.1:5000"
FORM = "application/x-www-form-urlencoded"


def _launched(app, resource):
    browser = app.test_client()
    body = sign_launch(f"{BASE}/lti/v1/launch/{resource.id}", "lms-key", resource.secret,
                       launch_params(user_id="s-1"))
    landed = browser.post(f"/lti/v1/launch/{resource.id}", data=body, content_type=FORM)
    assert landed.status_code == 302, landed.get_data(as_text=True)
    assert browser.get(landed.headers["Location"]).status_code == 200
    return browser, landed.headers["Location"]


@pytest.fixture
def course(app):
    course = factories.make_course("BIO", "Biology")
    factories.make_activity(course, "page", "Cells")
    return course


def test_an_open_session_loses_the_course_when_the_end_date_passes(app, course):
    resource = factories.make_resource(course, legacy=True, enrol_end=utcnow() + timedelta(hours=1))
    browser, path = _launched(app, resource)
    db.session.get(PublishedResource, resource.id).enrol_end = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert browser.get(path).status_code == 403


def test_an_open_session_loses_the_activity_when_the_enrolment_duration_elapses(app, course, monkeypatch):
    activity = factories.make_activity(course, "page", "Membranes")
    resource = factories.make_resource(course, activity, legacy=True, enrol_period=3600)
    browser, path = _launched(app, resource)
    assert path == f"/activity/{activity.id}"
    enrolment = db.session.scalars(db.select(Enrolment)).one()
    assert enrolment.time_end is not None
    monkeypatch.setattr(permissions, "utcnow", lambda: enrolment.time_end - timedelta(seconds=1))
    assert browser.get(path).status_code == 200
    monkeypatch.setattr(permissions, "utcnow", lambda: enrolment.time_end + timedelta(seconds=1))
    assert browser.get(path).status_code == 403
    assert browser.get(f"/course/{course.id}").status_code == 403


def test_a_manual_enrolment_without_an_end_is_unaffected(app, course, monkeypatch):
    student = factories.make_user("sam")
    factories.enrol(student, course, "student")
    monkeypatch.setattr(permissions, "utcnow", lambda: utcnow() + timedelta(days=3650))
    assert permissions.can_view_course(student, course)


def test_the_dashboard_no_longer_lists_a_course_whose_enrolment_ended(app, course):
    resource = factories.make_resource(course, legacy=True, enrol_end=utcnow() + timedelta(hours=1))
    browser, _path = _launched(app, resource)
    assert "Biology" in browser.get("/").get_data(as_text=True)
    db.session.get(PublishedResource, resource.id).enrol_end = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "Biology" not in browser.get("/").get_data(as_text=True)


def test_a_start_date_moved_later_closes_the_course_until_then(app, course):
    resource = factories.make_resource(course, legacy=True)
    browser, path = _launched(app, resource)
    db.session.get(PublishedResource, resource.id).enrol_start = utcnow() + timedelta(days=1)
    db.session.commit()
    assert browser.get(path).status_code == 403
