"""`flask --app wsgi lti sync grades|members`, `lti worker --once`, `lti jobs …`."""
from __future__ import annotations

import json

from app.extensions import db
from app.jobs.queue import GRADE_PUSH
from app.models import GradeSyncLog, ScheduledRun, SyncJob
from app.services.courses.gradebook import grade_by_teacher
from tests.e2e.ags_platform import member
from tests.sync_factories import grade_scene, platform  # noqa: F401 (fixture)


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_sync_grades_runs_the_sweep_then_the_grade_jobs(app, runner, platform):
    scene = grade_scene(platform)
    for student, value in zip(scene.students, ("3", "4")):
        grade_by_teacher(scene.assignment, student, value, feedback="", grader=scene.teacher)
    db.session.commit()
    db.session.execute(db.delete(SyncJob))  # as if these grades predated grade sync: only the sweep finds them
    db.session.commit()

    data = _json(runner.invoke(args=["lti", "sync", "grades", "--json"]))
    assert data["queued"] == 2
    assert (data["jobs"]["processed"], data["jobs"]["done"]) == (2, 2)
    assert sorted(s.data["scoreGiven"] for s in platform.scores()) == [3.0, 4.0]
    sweep = db.session.execute(db.select(ScheduledRun).where(ScheduledRun.name == "grade_sweep")).scalar_one()
    assert sweep.last_finished_at is not None and sweep.next_due_at > sweep.last_started_at

    text = runner.invoke(args=["lti", "sync", "grades", "--resource", str(scene.resource.id)])
    assert text.exit_code == 0
    assert text.output.strip() == ("Grade synchronisation: queued 0 jobs; processed 0 jobs: 0 done, 0 to retry "
                                   "later, 0 failed.")


def test_sync_members_for_one_resource(app, runner, platform):
    scene = grade_scene(platform, students=0, link_kwargs={"memberships_url": platform.memberships_url()})
    platform.set_roster([member("m-1"), member("m-2")])
    data = _json(runner.invoke(args=["lti", "sync", "members", "--resource", str(scene.resource.id), "--json"]))
    assert (data["queued"], data["jobs"]["done"]) == (1, 1)
    job = db.session.execute(db.select(SyncJob).where(SyncJob.kind == "member_sync")).scalar_one()
    assert job.result["enrolled"] == 2


def test_an_unknown_resource_is_an_error(app, runner):
    result = runner.invoke(args=["lti", "sync", "grades", "--resource", "999"])
    assert result.exit_code == 1
    assert "Published resource not found: 999" in result.output
    data = json.loads(runner.invoke(args=["lti", "sync", "members", "--resource", "999", "--json"]).output)
    assert data == {"error": "Published resource not found: 999"}


def test_worker_once_beats_runs_the_due_sweeps_and_the_jobs(app, runner, platform):
    scene = grade_scene(platform)
    grade_by_teacher(scene.assignment, scene.students[0], "9", feedback="", grader=scene.teacher)
    db.session.commit()
    data = _json(runner.invoke(args=["lti", "worker", "--once", "--json"]))
    assert sorted(data["sweeps"]) == ["cleanup", "grade_sweep", "key_maintenance", "member_sweep"]
    assert data["jobs"]["by_kind"]["grade_push"]["done"] == 1
    assert data["jobs"]["by_kind"]["member_sync"]["done"] == 1  # the member sweep's job (no roster service here)
    assert [s.data["scoreGiven"] for s in platform.scores()] == [9.0]
    beats = db.session.execute(db.select(ScheduledRun.heartbeat_at)).scalars().all()
    assert len(beats) == 4 and all(beats)

    again = _json(runner.invoke(args=["lti", "worker", "--once", "--json"]))
    assert again["sweeps"] == {}  # not due again for another interval


def _failed_job(ids: dict[str, int]) -> SyncJob:
    job = SyncJob(kind=GRADE_PUSH, dedupe_key="grade_push:1:1", status="failed", attempts=12, last_error="HTTP 500",
                  last_http_status=500, payload={"lti_user_id": ids["lti_user"], "resource_link_id": ids["link"]},
                  published_resource_id=ids["resource"], user_id=ids["user"])
    db.session.add(job)
    db.session.commit()
    return job


def test_jobs_list_retry_and_retry_failed(app, runner, platform):
    scene = grade_scene(platform)
    ids = {"lti_user": scene.lti_users[0].id, "link": scene.link.id, "resource": scene.resource.id,
           "user": scene.students[0].id}
    job = _failed_job(ids)
    rows = _json(runner.invoke(args=["lti", "jobs", "list", "--json"]))
    assert [(r["id"], r["status"], r["attempts"], r["last_error"], r["kind"]) for r in rows] == [
        (job.id, "Failed", 12, "HTTP 500", "grade_push")]
    assert rows[0]["resource"] == "Essay" and rows[0]["user"] == scene.students[0].username
    assert _json(runner.invoke(args=["lti", "jobs", "list", "--status", "pending", "--json"])) == []
    bad = runner.invoke(args=["lti", "jobs", "list", "--status", "bogus"])
    assert bad.exit_code == 1 and "Choose Pending, Running, Done, Failed or all." in bad.output

    retried = _json(runner.invoke(args=["lti", "jobs", "retry", str(job.id), "--json"]))
    assert (retried["status"], retried["attempts"]) == ("Pending", 12)
    missing = runner.invoke(args=["lti", "jobs", "retry", "424242"])
    assert missing.exit_code == 1 and "Sync job not found: 424242" in missing.output

    runner.invoke(args=["lti", "worker", "--once"])
    assert [s.data["scoreGiven"] for s in platform.scores()] == []  # no grade: a skip, not a send
    assert db.session.execute(db.select(GradeSyncLog.message)).scalars().all() == ["Skipping - Invalid grade"]

    _failed_job(ids)  # the worker ended the session the scene's rows belonged to
    result = runner.invoke(args=["lti", "jobs", "retry-failed"])
    assert result.exit_code == 0 and result.output.strip() == "1 failed sync job queued."
