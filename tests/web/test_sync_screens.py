"""The sync status page and Site administration > Sync jobs: permissions, CSRF, content."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.jobs import sweeps
from app.jobs.queue import GRADE_PUSH, MEMBER_SYNC, grade_push_key
from app.models import GradeSyncLog, LtiUserResourceLink, SyncJob
from app.models.base import utcnow
from tests.factories import enrol, make_activity, make_course, make_registration, make_resource, make_user
from tests.helpers import csrf_token, login, post_form
from tests.sync_factories import link_user, make_link

WARNING = ("No synchronisation worker has run in the last 5 minutes. Start flask --app wsgi lti worker, or schedule "
           "flask --app wsgi lti sync grades and flask --app wsgi lti sync members with cron.")


def _text(response) -> str:
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+([,.])", r"\1", re.sub(r"\s+", " ", html.unescape(body)))


@pytest.fixture
def scene(app, admin):
    course = make_course("SYNC", "Sync course")
    essay = make_activity(course, "assignment", "Essay", max_grade="10")
    people = {name: make_user(name, first_name=name.capitalize(), last_name="Person")
              for name in ("teacher", "assistant", "learner", "outsider", "ann", "bob", "cat")}
    enrol(people["teacher"], course, "teacher")
    enrol(people["assistant"], course, "noneditingteacher")
    enrol(people["learner"], course, "student")
    resource = make_resource(course, essay, name="Essay for the LMS")
    registration = make_registration(issuer="https://lms.example.org")
    link = make_link(resource, registration, rlid="rl-1", lineitems_url="https://lms.example.org/li",
                     title="Week 3")
    lti = {name: link_user(resource, link, people[name]) for name in ("ann", "bob", "cat")}
    now = utcnow()
    db.session.add(GradeSyncLog(published_resource_id=resource.id, user_id=people["ann"].id, resource_link_id=link.id,
                                grade=Decimal("7"), grade_max=Decimal("10"), outcome="sent", http_status=200,
                                message="Success - The grade '7/10' was sent.", at=now))
    db.session.execute(db.update(LtiUserResourceLink).where(LtiUserResourceLink.lti_user_id == lti["ann"].id)
                       .values(last_grade_sent=Decimal("7")))
    db.session.add(GradeSyncLog(published_resource_id=resource.id, user_id=people["bob"].id, resource_link_id=link.id,
                                grade=Decimal("3"), grade_max=Decimal("10"), outcome="failed", http_status=422,
                                response_excerpt='{"error": "<unknown user>"}', message="Failed - HTTP 422", at=now))
    failed = SyncJob(kind=GRADE_PUSH, dedupe_key=grade_push_key(lti["bob"].id, link.id), status="failed",
                     attempts=1, payload={"lti_user_id": lti["bob"].id, "resource_link_id": link.id},
                     published_resource_id=resource.id, user_id=people["bob"].id, last_error="HTTP 422",
                     last_http_status=422, finished_at=now)
    pending = SyncJob(kind=GRADE_PUSH, dedupe_key=grade_push_key(lti["cat"].id, link.id), status="pending",
                      attempts=2, payload={"lti_user_id": lti["cat"].id, "resource_link_id": link.id},
                      published_resource_id=resource.id, user_id=people["cat"].id, last_error="HTTP 503",
                      run_after=now + timedelta(minutes=4))
    db.session.add_all([failed, pending])
    db.session.commit()
    return {"course": course, "resource": resource, "link": link, "failed": failed, "pending": pending, **people}


def _url(scene, suffix: str = "") -> str:
    return f"/course/{scene['course'].id}/lti/{scene['resource'].id}/sync{suffix}"


def test_who_may_see_the_sync_status_page(client, scene):
    response = client.get(_url(scene))
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    for username, status in (("learner", 403), ("outsider", 403), ("assistant", 200), ("teacher", 200),
                             ("admin", 200)):
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")}) if username != "learner" else None
        login(client, username)
        assert client.get(_url(scene)).status_code == status, username


def test_a_resource_of_another_course_is_not_found(client, scene):
    other = make_course("OTHER")
    enrol(scene["teacher"], other, "teacher")
    login(client, "teacher")
    assert client.get(f"/course/{other.id}/lti/{scene['resource'].id}/sync").status_code == 404
    assert client.get(f"/course/{scene['course'].id}/lti/99999/sync").status_code == 404
    assert post_form(client, f"/course/{other.id}/lti/{scene['resource'].id}/sync/grades",
                     token_from=_url(scene)).status_code == 404


def test_the_page_shows_panels_counts_the_warning_and_every_user(client, scene):
    login(client, "teacher")
    page = _text(client.get(_url(scene)))
    assert "Synchronisation: Essay for the LMS" in page
    assert "Grade synchronisation: On" in page and "User synchronisation: On" in page
    assert "1 Sent" in page and "0 Not changed" in page and "1 Pending" in page and "1 Failed" in page
    assert "Enrolled 0" in page and "Unenrolled 0" in page and "Skipped 0" in page
    assert WARNING in page
    assert "Ann Person" in page and "Course c1 / Week 3" in page
    assert "Sent" in page and "HTTP 200" in page
    assert 'HTTP 422 {"error": "<unknown user>"}' in page  # the platform's answer, escaped
    assert "Pending retry 2 at" in page
    assert "Sync grades now" in page and "Sync members now" in page
    markup = client.get(_url(scene)).get_data(as_text=True)
    assert page.count("Retry") == 1  # a button on the failed row only
    assert f"/sync/jobs/{scene['failed'].id}/retry" in markup and f"/jobs/{scene['pending'].id}/" not in markup

    sweeps.heartbeat()
    db.session.commit()
    assert "No synchronisation worker" not in _text(client.get(_url(scene)))


def test_non_editing_teachers_see_no_buttons(client, scene):
    login(client, "assistant")
    page = _text(client.get(_url(scene)))
    assert "Sync grades now" not in page and "Sync members now" not in page
    assert post_form(client, _url(scene, "/grades"), token_from=_url(scene)).status_code == 403
    assert post_form(client, _url(scene, f"/jobs/{scene['failed'].id}/retry"),
                     token_from=_url(scene)).status_code == 403


def test_filter_by_status_and_search(client, scene):
    login(client, "teacher")
    failed = _text(client.get(_url(scene) + "?status=failed"))
    assert "Bob Person" in failed and "Ann Person" not in failed and "Cat Person" not in failed
    found = _text(client.get(_url(scene) + "?q=cat"))
    assert "Cat Person" in found and "Bob Person" not in found
    nothing = _text(client.get(_url(scene) + "?status=sent&q=bob"))
    assert "No users to show." in nothing


def test_sync_now_buttons_queue_jobs_and_say_so(client, scene):
    login(client, "teacher")
    assert client.post(_url(scene, "/grades")).status_code == 400  # no CSRF token
    assert db.session.execute(db.select(db.func.count(SyncJob.id))).scalar() == 2

    response = post_form(client, _url(scene, "/grades"), token_from=_url(scene), follow_redirects=True)
    assert "Grade synchronisation queued." in _text(response)
    db.session.expire_all()
    jobs = db.session.execute(db.select(SyncJob).where(SyncJob.status == "pending")).scalars().all()
    assert len([job for job in jobs if job.kind == GRADE_PUSH]) == 3  # ann and bob queued, cat pulled forward
    assert all(job.run_after <= utcnow() for job in jobs)

    response = post_form(client, _url(scene, "/members"), token_from=_url(scene), follow_redirects=True)
    assert "User synchronisation queued." in _text(response)
    db.session.expire_all()
    assert db.session.execute(db.select(SyncJob).where(SyncJob.kind == MEMBER_SYNC)).scalar_one().payload == {
        "resource_id": scene["resource"].id}


def test_retry_on_a_failed_row(client, scene):
    login(client, "teacher")
    response = post_form(client, _url(scene, f"/jobs/{scene['failed'].id}/retry"), token_from=_url(scene),
                         follow_redirects=True)
    assert f"Sync job {scene['failed'].id} queued." in _text(response)
    db.session.expire_all()
    job = db.session.get(SyncJob, scene["failed"].id)
    assert (job.status, job.attempts) == ("pending", 1)
    other = make_resource(scene["course"])
    assert post_form(client, f"/course/{scene['course'].id}/lti/{other.id}/sync/jobs/{job.id}/retry",
                     token_from=_url(scene)).status_code == 404


def test_the_sync_jobs_page_is_for_admins_and_lists_failed_jobs_by_default(client, scene):
    login(client, "teacher")
    assert client.get("/admin/lti/jobs").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "admin")
    page = _text(client.get("/admin/lti/jobs"))
    assert "Sync jobs" in page
    for column in ("Id", "Kind", "Resource", "User", "Status", "Attempts", "Next attempt", "Last error"):
        assert column in page
    assert f" {scene['failed'].id} Grade push Essay for the LMS bob Failed 1 - HTTP 422 Retry" in page
    assert "cat" not in page.split("Last error", 1)[1]  # the pending job is not in the default (Failed) view
    everything = _text(client.get("/admin/lti/jobs?status=all"))
    assert "cat Pending 2" in everything
    assert client.get("/admin/lti/jobs?status=bogus").status_code == 400


def test_admin_retry_and_retry_all_failed(client, scene):
    login(client, "admin")
    assert client.post(f"/admin/lti/jobs/{scene['failed'].id}/retry").status_code == 400  # no CSRF token
    response = post_form(client, f"/admin/lti/jobs/{scene['failed'].id}/retry", token_from="/admin/lti/jobs",
                         follow_redirects=True)
    assert f"Sync job {scene['failed'].id} queued." in _text(response)
    db.session.expire_all()
    assert db.session.get(SyncJob, scene["failed"].id).status == "pending"
    assert post_form(client, "/admin/lti/jobs/99999/retry", token_from="/admin/lti/jobs").status_code == 404

    again = SyncJob(kind=MEMBER_SYNC, dedupe_key="member_sync:x", status="failed", attempts=12, payload={},
                    published_resource_id=scene["resource"].id, last_error="HTTP 500")
    db.session.add(again)
    db.session.commit()
    response = post_form(client, "/admin/lti/jobs/retry-failed", token_from="/admin/lti/jobs", follow_redirects=True)
    assert "1 failed sync job queued." in _text(response)
    db.session.expire_all()
    assert (db.session.get(SyncJob, again.id).status, db.session.get(SyncJob, again.id).attempts) == ("pending", 12)
