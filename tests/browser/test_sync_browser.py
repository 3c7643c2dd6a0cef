"""In Debian's Chromium: a teacher opens a resource's sync status page, presses "Sync grades now", and after the
worker has run sees the grades sent to the platform; an admin retries failed sync jobs."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.jobs import sweeps, worker
from app.models import Grade, SyncJob
from tests.e2e.ags_platform import AgsPlatform
from tests.factories import make_course, make_resource, make_user
from tests.sync_factories import grade_scene, tool_jwks
from tests.browser.steps import log_in

pytestmark = pytest.mark.browser



def test_sync_grades_now_then_the_worker_sends_them(page, live_server, screenshot):
    app = live_server.app
    with app.app_context():
        platform = AgsPlatform(tool_jwks()).start()
    try:
        with app.app_context():
            scene = grade_scene(platform, students=3)
            # Grades from before grade sync was switched on: nothing is queued until someone asks.
            for student, value in zip(scene.students, ("6.5", "8", "10")):
                db.session.add(Grade(activity_id=scene.assignment.id, user_id=student.id, value=value))
            db.session.commit()
            url = f"/course/{scene.course.id}/lti/{scene.resource.id}/sync"
            teacher = scene.teacher.username
            first_student = sorted(scene.students, key=lambda s: (s.last_name, s.first_name))[0].username

        log_in(page, teacher)
        page.goto(url)
        expect(page.get_by_role("heading", name="Synchronisation: Essay")).to_be_visible()
        expect(page.get_by_role("alert").filter(has_text="No synchronisation worker has run in the last 5 minutes."
                                                )).to_be_visible()
        expect(page.get_by_text("Grade synchronisation: On")).to_be_visible()
        expect(page.locator("tbody tr")).to_have_count(3)
        expect(page.locator("tbody tr").first).to_contain_text("Not synchronised yet")
        screenshot("sync-01-before")

        page.get_by_role("button", name="Sync grades now").click()
        expect(page.get_by_role("status").filter(has_text="Grade synchronisation queued.")).to_be_visible()
        expect(page.get_by_text("3 Pending")).to_be_visible()
        screenshot("sync-02-queued")

        with app.app_context():
            assert db.session.execute(db.select(db.func.count(SyncJob.id))).scalar() == 3
            sweeps.heartbeat()
            db.session.commit()
            worker.run_due()
            db.session.remove()
        assert sorted(score.data["scoreGiven"] for score in platform.scores()) == [6.5, 8.0, 10.0]

        page.reload()
        expect(page.get_by_role("alert").filter(has_text="No synchronisation worker")).to_have_count(0)
        expect(page.get_by_text("3 Sent")).to_be_visible()
        expect(page.locator("tbody tr").filter(has_text="6.5 / 10")).to_contain_text("HTTP 200")
        screenshot("sync-03-sent")
        page.get_by_label("Status").select_option("sent")
        page.get_by_label("Search user").fill(first_student)
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(page.locator("tbody tr")).to_contain_text(first_student)
        screenshot("sync-04-filtered")
    finally:
        platform.stop()


def test_the_admin_retries_failed_jobs(page, live_server, screenshot):
    with live_server.app.app_context():
        make_user("siteadmin", admin=True, first_name="Sam", last_name="Admin")
        course = make_course("JOBS", "Jobs course")
        resource = make_resource(course, name="Quiz for Canvas")
        learner = make_user("jobber", first_name="Jo", last_name="Bber")
        for number, (kind, status) in enumerate((("grade_push", "failed"), ("member_sync", "failed"),
                                                 ("grade_push", "done"))):
            db.session.add(SyncJob(kind=kind, dedupe_key=f"key-{number}", status=status, attempts=12 if status ==
                                   "failed" else 1, payload={}, published_resource_id=resource.id,
                                   user_id=learner.id if kind == "grade_push" else None,
                                   last_error="HTTP 503" if status == "failed" else None,
                                   last_http_status=503 if status == "failed" else None))
        db.session.commit()

    log_in(page, "siteadmin")
    page.goto("/admin/lti/jobs")
    expect(page.get_by_role("heading", name="Sync jobs")).to_be_visible()
    expect(page.locator(".lti-admin-nav a.active")).to_have_text("Sync jobs")
    expect(page.get_by_label("Status")).to_have_value("failed")
    expect(page.locator("tbody tr")).to_have_count(2)
    screenshot("sync-jobs-01-failed")

    page.get_by_role("button", name="Retry job 1").click()
    expect(page.get_by_role("status").filter(has_text="Sync job 1 queued.")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Retry all failed").click()
    expect(page.get_by_role("status").filter(has_text="1 failed sync job queued.")).to_be_visible()
    expect(page.get_by_text("No sync jobs to show.")).to_be_visible()
    page.get_by_label("Status").select_option("all")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.locator("tbody tr").filter(has_text="Member sync")).to_contain_text("Pending")
    screenshot("sync-jobs-02-all")
