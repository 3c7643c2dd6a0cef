"""Grade sync end to end: grades recorded in Courseport, sent by the worker, checked on what the
independent platform (lti1p3platform behind tests/e2e/ags_platform.py) received."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from app.extensions import db
from app.jobs import worker
from app.jobs.queue import GRADE_PUSH
from app.models import ActivityCompletion, Grade, GradeSyncLog, LtiUserResourceLink, ResourceLink, SyncJob
from app.services.sync import grades as sync
from app.services.sync import queueing
from app.services.courses.completion import mark_complete
from tests.e2e.ags_platform import LINEITEM_READONLY, SCORE
from tests.factories import make_activity
from tests.postgres import BOTH_DATABASES
from tests.sync_factories import grade_scene, link_user, make_link, platform  # noqa: F401 (fixture)

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"


def _logs(resource_id: int) -> list[GradeSyncLog]:
    db.session.expire_all()
    return list(db.session.execute(db.select(GradeSyncLog).where(
        GradeSyncLog.published_resource_id == resource_id).order_by(GradeSyncLog.id)).scalars())


@BOTH_DATABASES
def test_a_grade_change_queues_a_job_in_its_own_transaction_and_the_platform_gets_the_score(app, platform):
    scene = grade_scene(platform)
    student = scene.students[0]
    scene.grade(student, "7.5")

    jobs = db.session.execute(db.select(SyncJob)).scalars().all()
    assert [(job.kind, job.status, job.payload) for job in jobs] == [
        (GRADE_PUSH, "pending", {"lti_user_id": scene.lti_users[0].id, "resource_link_id": scene.link.id})]
    assert platform.scores() == []  # queued, not sent: nothing is sent from the web request

    stats = worker.run_due()
    assert (stats.done, stats.retried, stats.failed) == (1, 0, 0)

    created = platform.requests_to(r"/lineitems$", "POST")
    assert len(created) == 1
    assert created[0].headers["Content-Type"] == "application/vnd.ims.lis.v2.lineitem+json"
    assert created[0].body == {"label": "Essay", "scoreMaximum": 10.0, "resourceId": scene.resource.uuid,
                               "tag": "grade", "resourceLinkId": scene.link.resource_link_id}
    lineitem = platform.all_lineitems()[0]["id"]
    [score] = platform.scores(lineitem)
    assert {key: value for key, value in score.data.items() if key != "timestamp"} == {
        "userId": scene.lti_users[0].subject, "scoreGiven": 7.5, "scoreMaximum": 10.0,
        "activityProgress": "Completed", "gradingProgress": "FullyGraded"}
    grade = db.session.execute(db.select(Grade).where(Grade.user_id == student.id)).scalar_one()
    stamp = datetime.fromisoformat(score.data["timestamp"])
    assert stamp == grade.changed_at.replace(microsecond=grade.changed_at.microsecond // 1000 * 1000)
    assert score.data["timestamp"].endswith("+00:00") and len(score.data["timestamp"].split(".")[1]) == 9
    [post] = platform.requests_to(r"/scores$", "POST")
    assert post.headers["Content-Type"] == SCORE_TYPE
    assert post.headers["Authorization"].startswith("Bearer ")
    assert post.headers["User-Agent"].startswith("Courseport/")

    [log] = _logs(scene.resource.id)
    assert (log.outcome, log.message, log.http_status, log.grade, log.grade_max) == (
        "sent", "Success - The grade '7.5/10' was sent.", 200, Decimal("7.5"), Decimal("10"))
    row = db.session.execute(db.select(LtiUserResourceLink).where(
        LtiUserResourceLink.lti_user_id == scene.lti_users[0].id)).scalar_one()
    assert (row.last_grade_sent, row.last_score_timestamp) == (Decimal("7.5"), stamp)
    assert db.session.get(ResourceLink, scene.link.id).cached_lineitem_url == lineitem


def test_the_found_or_created_line_item_is_reused_and_tokens_too(app, platform):
    scene = grade_scene(platform, students=3)
    for student, value in zip(scene.students, ("4", "5", "6")):
        scene.grade(student, value)
    worker.run_due()
    scene.grade(scene.students[0], "9")
    worker.run_due()

    assert len(platform.requests_to(r"/lineitems$", "POST")) == 1
    assert len(platform.requests_to(r"/lineitems$", "GET")) == 1  # looked up once, then remembered
    assert [s.data["scoreGiven"] for s in platform.scores()] == [4.0, 5.0, 6.0, 9.0]
    assert len(platform.issued) == 1
    assert platform.issued[0]["requested_scope"].split() == sorted(
        ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem", LINEITEM_READONLY, SCORE])


def test_an_existing_line_item_is_found_on_a_later_page_when_the_platform_ignores_the_filters(app, platform):
    platform.lineitem_page_size = 1
    platform.honour_filters = False
    scene = grade_scene(platform)
    platform.add_lineitem(label="Other", resourceLinkId="someone-else", resourceId=scene.resource.uuid, tag="grade")
    platform.add_lineitem(label="Old copy", resourceLinkId=scene.link.resource_link_id, resourceId="not-ours")
    platform.add_lineitem(label="Untagged", resourceLinkId=scene.link.resource_link_id,
                          resourceId=scene.resource.uuid, tag="final")
    ours = platform.add_lineitem(label="Essay", resourceLinkId=scene.link.resource_link_id,
                                 resourceId=scene.resource.uuid, tag="grade")

    scene.grade(scene.students[0], "3")
    worker.run_due()

    searches = platform.requests_to(r"/lineitems$", "GET")
    assert len(searches) == 4  # one item per page: found on the fourth, via Link: rel="next"
    assert searches[0].query == {"resource_link_id": scene.link.resource_link_id, "resource_id": scene.resource.uuid,
                                 "tag": "grade"}
    assert searches[3].query["page"] == "4"
    assert all(s.headers["Accept"] == "application/vnd.ims.lis.v2.lineitemcontainer+json" for s in searches)
    assert platform.requests_to(r"/lineitems$", "POST") == []
    assert [s.lineitem for s in platform.scores()] == [ours]


def test_line_item_paging_stops_at_100_pages(app, platform):
    platform.lineitem_page_size = 1
    platform.honour_filters = False
    scene = grade_scene(platform)
    for number in range(120):
        platform.add_lineitem(label=f"Column {number}", resourceLinkId="elsewhere")
    scene.grade(scene.students[0], "3")
    worker.run_due()
    assert len(platform.requests_to(r"/lineitems$", "GET")) == 100
    assert len(platform.requests_to(r"/lineitems$", "POST")) == 1  # not found within 100 pages: created


def test_a_coupled_line_item_with_a_query_string_is_used_directly(app, platform):
    lineitem = platform.add_lineitem(label="Essay", scoreMaximum=10, query="type_id=7&x=1")
    scene = grade_scene(platform, link_kwargs={"lineitem_url": lineitem, "lineitems_url": None, "scopes": [SCORE]})
    scene.grade(scene.students[1], "10")
    worker.run_due()

    [post] = platform.requests_to(r"/scores$", "POST")
    assert post.path == "/contexts/c1/lineitems/1/scores"
    assert post.query == {"type_id": "7", "x": "1"}
    assert [s.data["scoreGiven"] for s in platform.scores(lineitem)] == [10.0]
    assert platform.requests_to(r"/lineitems$") == []


def test_a_line_items_container_url_with_a_query_string_keeps_it_when_searching_creating_and_scoring(app, platform):
    """Moodle's line items URL carries `?type_id=…`: the search adds its filters after it, the new line item is
    created at it, and the score goes to the created item's own URL."""
    scene = grade_scene(platform, link_kwargs={"lineitems_url": platform.lineitems_url() + "?type_id=2"})
    scene.grade(scene.students[0], "6")
    worker.run_due()

    [search] = platform.requests_to(r"/lineitems$", "GET")
    assert search.query == {"type_id": "2", "resource_link_id": scene.link.resource_link_id,
                            "resource_id": scene.resource.uuid, "tag": "grade"}
    [create] = platform.requests_to(r"/lineitems$", "POST")
    assert create.query == {"type_id": "2"}
    [post] = platform.requests_to(r"/scores$", "POST")
    assert post.path == "/contexts/c1/lineitems/1/scores"
    assert [s.data["scoreGiven"] for s in platform.scores()] == [6.0]


def test_unchanged_grades_are_not_resent(app, platform):
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "8")
    worker.run_due()
    scene.grade(scene.students[0], "8")  # same value: no change, no job
    assert queueing.queue_grade_pushes() == 0  # the sweep finds nothing that differs
    assert worker.run_due().processed == 0

    queueing.queue_grade_pushes(scene.resource.id, everything=True)  # "Sync grades now" looks at everyone
    db.session.commit()
    worker.run_due()
    assert len(platform.scores()) == 1
    messages = [log.message for log in _logs(scene.resource.id)]
    assert messages[-2:] == ["Not sent - The grade was not sent as the grades are the same.",
                             "Skipping - Invalid grade"]


@BOTH_DATABASES
def test_regrades_carry_strictly_increasing_timestamps(app, platform):
    scene = grade_scene(platform)
    student = scene.students[0]
    scene.grade(student, "5")
    worker.run_due()
    scene.grade(student, "6")
    grade = db.session.execute(db.select(Grade).where(Grade.user_id == student.id)).scalar_one()
    first = datetime.fromisoformat(platform.scores()[0].data["timestamp"])
    grade.changed_at = first  # a clock that did not move: the platform would refuse an equal timestamp (409)
    db.session.commit()
    worker.run_due()

    stamps = [datetime.fromisoformat(s.data["timestamp"]) for s in platform.scores()]
    assert [s.data["scoreGiven"] for s in platform.scores()] == [5.0, 6.0]
    assert stamps[1] - stamps[0] == timedelta(milliseconds=1)


@BOTH_DATABASES
def test_a_course_resource_sends_the_course_total_in_raw_points(app, platform):
    scene = grade_scene(platform, target="course")
    quiz = make_activity(scene.course, "quiz", "Quiz", max_grade="30")
    scene.grade(scene.students[0], "10")  # 10 / (10 + 30) × 100 = 25
    worker.run_due()
    [score] = platform.scores()
    assert (score.data["scoreGiven"], score.data["scoreMaximum"]) == (25.0, 100.0)
    assert platform.requests_to(r"/lineitems$", "POST")[0].body["label"] == "Synchronised course"
    assert quiz.max_grade == Decimal("30")


def test_the_completion_gate_holds_grades_until_the_course_is_completed(app, platform):
    scene = grade_scene(platform, target="course", grade_sync_completion=True)
    page = make_activity(scene.course, "page", "Reading")
    student = scene.students[0]
    scene.grade(student, "9")  # grading completes the assignment, but the page is not read yet
    worker.run_due()
    assert platform.scores() == []
    assert _logs(scene.resource.id)[-1].message == "Skipping - Course not completed"

    mark_complete(page, student)
    db.session.commit()
    assert queueing.queue_grade_pushes() == 1  # the sweep re-evaluates the gate
    db.session.commit()
    worker.run_due()
    assert [s.data["scoreGiven"] for s in platform.scores()] == [90.0]
    assert db.session.execute(db.select(ActivityCompletion).where(
        ActivityCompletion.user_id == student.id)).scalars().all()


def test_the_activity_gate_and_the_skip_messages(app, platform):
    scene = grade_scene(platform, grade_sync_completion=True)
    student = scene.students[0]
    grade = Grade(activity_id=scene.assignment.id, user_id=student.id, value=Decimal("4"))
    db.session.add(grade)
    db.session.commit()
    queueing.queue_grade_pushes(scene.resource.id, everything=True)
    db.session.commit()
    worker.run_due()
    assert "Skipping - Activity not completed" in [log.message for log in _logs(scene.resource.id)]
    assert platform.scores() == []


def test_links_without_a_grade_service_or_line_item_management_are_skipped(app, platform):
    scene = grade_scene(platform, link_kwargs={"scopes": [LINEITEM_READONLY]})
    readonly = make_link(scene.resource, scene.registration, lineitems_url=platform.lineitems_url(),
                         scopes=[SCORE, LINEITEM_READONLY])
    link_user(scene.resource, readonly, scene.students[0])
    scene.grade(scene.students[0], "6")
    worker.run_due()

    messages = sorted(log.message for log in _logs(scene.resource.id))
    assert messages == ["Skipped - No grade service found",
                        "Skipped - The platform did not grant line item management"]
    assert platform.scores() == [] and platform.requests_to(r"/lineitems$", "POST") == []


def test_a_disabled_resource_is_skipped(app, platform):
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "6")
    scene.resource.enabled = False
    db.session.commit()
    worker.run_due()
    assert [log.message for log in _logs(scene.resource.id)] == ["Skipped - resource unavailable"]
    assert platform.scores() == []


def test_sweep_time_ordering_is_by_due_time(app, platform):
    scene = grade_scene(platform, students=2)
    scene.grade(scene.students[0], "1")
    scene.grade(scene.students[1], "2")
    later = db.session.execute(db.select(SyncJob).order_by(SyncJob.id)).scalars().first()
    later.run_after = datetime.now(timezone.utc) + timedelta(minutes=10)
    db.session.commit()
    worker.run_due()
    assert [s.data["scoreGiven"] for s in platform.scores()] == [2.0]


class WorkerKilled(BaseException):
    """The worker process dying: nothing after it runs, nothing it wrote is committed."""


def _kill_after_the_platform_accepts(monkeypatch):
    real_log = sync._log

    def log_then_die(target, outcome, message, **fields):
        if outcome == sync.SENT:
            raise WorkerKilled()
        real_log(target, outcome, message, **fields)

    monkeypatch.setattr(sync, "_log", log_then_die)
    return lambda: monkeypatch.setattr(sync, "_log", real_log)


def test_a_score_accepted_before_the_worker_died_ends_sent_not_failed(app, platform, monkeypatch):
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "7")
    revive = _kill_after_the_platform_accepts(monkeypatch)
    try:
        worker.run_due()
    except WorkerKilled:
        db.session.rollback()
    revive()
    assert [s.data["scoreGiven"] for s in platform.scores()] == [7.0]  # the platform has it; we recorded nothing
    db.session.execute(db.update(SyncJob).values(locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
    db.session.commit()

    stats = worker.run_due()

    assert (stats.done, stats.failed) == (1, 0)
    [job] = db.session.execute(db.select(SyncJob)).scalars().all()
    assert job.status == "done"
    assert _logs(scene.resource.id)[-1].outcome == "sent"
    assert [s.data["scoreGiven"] for s in platform.scores()] == [7.0, 7.0]
    row = db.session.execute(db.select(LtiUserResourceLink).where(
        LtiUserResourceLink.lti_user_id == scene.lti_users[0].id)).scalar_one()
    assert row.last_grade_sent == Decimal("7")
    assert row.last_score_timestamp == datetime.fromisoformat(platform.scores()[-1].data["timestamp"])


def test_a_platform_that_refuses_the_fresh_resend_too_is_reported_failed(app, platform):
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "7")
    platform.fail(r"/scores$", 409, times=2, body="newer score held")

    stats = worker.run_due()

    assert (stats.done, stats.failed) == (0, 1)
    assert len(platform.requests_to(r"/scores$", "POST")) == 2
    assert platform.scores() == []
    assert _logs(scene.resource.id)[-1].http_status == 409


def test_service_urls_from_a_launch_reach_no_private_address_unless_allowed(app, platform):
    app.config["ALLOW_PRIVATE_ADDRESSES"] = False  # the platform runs on 127.0.0.1
    scene = grade_scene(platform)
    scene.grade(scene.students[0], "7")
    worker.run_due()
    assert platform.requests_to(r"/lineitems") == [] and platform.scores() == []
    assert "127.0.0.1 is not a public address" in _logs(scene.resource.id)[-1].message
