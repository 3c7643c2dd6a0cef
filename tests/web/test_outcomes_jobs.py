"""Basic Outcomes jobs: grade-change trigger, skips with their messages, completion gate, change
detection, failures, the sweep, "Sync grades now" and the sync status page — against a consumer that verifies
every request it receives."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.extensions import db
from app.jobs.worker import run_due
from app.models import Activity, ActivityCompletion, Enrolment, GradeSyncLog, LtiUser, RoleAssignment, SyncJob
from app.models.base import utcnow
from app.services.legacy import outcomes as legacy_outcomes
from app.services.courses.gradebook import record_grade
from tests import factories
from tests.helpers import login, post_form


@pytest.fixture
def consumer(consumer):
    consumer.secrets["lms-key"] = "unused"
    return consumer


@pytest.fixture
def world(app, consumer):
    course = factories.make_course("BIO", "Biology")
    quiz = Activity(course_id=course.id, type="quiz", name="Cells quiz", max_grade=Decimal("8"), position=1)
    db.session.add(quiz)
    db.session.commit()
    resource = factories.make_resource(course, quiz, legacy=True)
    consumer.secrets["lms-key"] = resource.secret
    student = factories.make_user("stu", first_name="Sam", last_name="Student")
    enrolment = Enrolment(course_id=course.id, user_id=student.id, published_resource_id=resource.id)
    db.session.add(enrolment)
    db.session.flush()
    db.session.add(RoleAssignment(enrolment_id=enrolment.id, user_id=student.id, course_id=course.id,
                                  activity_id=quiz.id, role="student"))
    lti_user = LtiUser(user_id=student.id, published_resource_id=resource.id, subject="s-1", consumer_key="lms-key",
                       outcome_url=f"{consumer.url}/outcomes", result_sourcedid="src-1", context_id="ctx")
    db.session.add(lti_user)
    db.session.commit()
    return {"course": course, "quiz": quiz, "resource": resource, "student": student, "lti_user": lti_user}


def _messages() -> list[str]:
    db.session.expire_all()
    return [row.message for row in db.session.scalars(db.select(GradeSyncLog).order_by(GradeSyncLog.id))]


def test_a_grade_change_queues_one_push_and_the_consumer_gets_the_ratio(world, consumer):
    record_grade(world["quiz"], world["student"], "6", feedback=None, grader=None)
    record_grade(world["quiz"], world["student"], "5", feedback=None, grader=None)
    db.session.commit()
    job = db.session.scalars(db.select(SyncJob)).one()  # the pending job is reused, not duplicated
    assert (job.kind, job.dedupe_key, job.payload) == ("outcome_push", f"outcome_push:{world['lti_user'].id}",
                                                       {"lti_user_id": world["lti_user"].id})
    assert run_due().done == 1
    assert consumer.scores == [("src-1", "0.625")]
    assert _messages() == ["Success - The grade '5/8' was sent."]
    assert legacy_outcomes.push_outcome({"lti_user_id": world["lti_user"].id}).message == \
        "Not sent - The grade was not sent as the grades are the same."
    assert len(consumer.scores) == 1


@pytest.mark.parametrize("change, message", [
    ("no url", "Skipping - Empty serviceurl"),
    ("no sourcedid", "Skipping - Empty sourceid"),
    ("disabled", "Skipped - resource unavailable"),
    ("sync off", "Skipped - Grade synchronisation is off"),
    ("incomplete", "Skipping - Activity not completed"),
    ("no grade", "Skipping - Invalid grade"),
])
def test_skips_are_logged_with_the_spec_message_and_send_nothing(world, consumer, change, message):
    if change != "no grade":
        record_grade(world["quiz"], world["student"], "4", feedback=None, grader=None)
    lti_user, resource = world["lti_user"], world["resource"]
    if change == "no url":
        lti_user.outcome_url = ""
    elif change == "no sourcedid":
        lti_user.result_sourcedid = None
    elif change == "disabled":
        resource.enabled = False
    elif change == "sync off":
        resource.grade_sync = False
    elif change == "incomplete":
        resource.grade_sync_completion = True
        db.session.execute(db.delete(ActivityCompletion))
    db.session.commit()
    outcome = legacy_outcomes.push_outcome({"lti_user_id": lti_user.id})
    db.session.commit()
    assert (outcome.status, outcome.message) == ("done", message)
    assert _messages() == [message] and consumer.received == []


def test_the_completion_gate_opens_once_the_activity_is_complete(world, consumer):
    world["resource"].grade_sync_completion = True
    record_grade(world["quiz"], world["student"], "8", feedback=None, grader=None)
    db.session.add(ActivityCompletion(activity_id=world["quiz"].id, user_id=world["student"].id,
                                      completed_at=utcnow()))
    db.session.commit()
    assert legacy_outcomes.push_outcome({"lti_user_id": world["lti_user"].id}).message.startswith("Success")
    assert consumer.scores == [("src-1", "1.0")]


def test_a_failure_code_fails_the_job_with_the_description(world, consumer):
    consumer.outcome_code = "failure"
    record_grade(world["quiz"], world["student"], "2", feedback=None, grader=None)
    db.session.commit()
    assert run_due().failed == 1
    job = db.session.scalars(db.select(SyncJob)).one()
    assert (job.status, job.last_error, job.last_http_status) == ("failed", "Unknown sourcedid", 200)
    assert _messages() == ["Failed - Unknown sourcedid"]
    assert world["lti_user"].last_grade_sent is None


def test_the_sweep_and_sync_now_queue_legacy_pushes(world, client, consumer):
    record_grade(world["quiz"], world["student"], "4", feedback=None, grader=None)
    db.session.execute(db.delete(SyncJob))
    db.session.commit()
    assert legacy_outcomes.queue_outcome_pushes() == 1  # the sweep: the grade differs from the last one sent
    assert run_due().done == 1
    assert legacy_outcomes.queue_outcome_pushes() == 0  # nothing changed since
    teacher = factories.make_user("teacher")
    factories.enrol(teacher, world["course"], "teacher")
    login(client, "teacher")
    path = f"/course/{world['course'].id}/lti/{world['resource'].id}/sync"
    response = post_form(client, f"{path}/grades", token_from=path)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(SyncJob.id)).where(SyncJob.status == "pending")) == 1
    page = client.get(path).get_data(as_text=True)
    row = page[page.index("Sam Student"):]
    row = row[:row.index("</tr>")]
    assert "<td>ctx</td>" in row and "Pending" in row  # the legacy user's row: its LMS course, its queued push
