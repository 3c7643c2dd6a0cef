"""Benchmark (not a timed test): push 10,000 changed grades to a local platform endpoint, against a raw keep-alive
POST loop of 10,000 scores to the same endpoint in the same run.

    .venv/bin/python bench/grades.py [--grades N] [--port P] [--database postgresql]

What is timed for Courseport is the worker draining the 10,000 grade-push jobs (claim, read, POST, log, commit,
each job's outcome its own transaction). The sweep that queues them is timed and printed separately.
"""
from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
from _sync_setup import bench_app, peak_rss_mb, platform_process, registration_for
from sqlalchemy import insert

from app.extensions import db
from app.jobs import worker
from app.lti import service_token
from app.lti.ags_nrps import AGS_SCOPES_USED
from app.models import (
    Activity, Course, Grade, LtiUser, LtiUserResourceLink, PublishedResource, ResourceLink, SyncJob, User,
)
from app.services.sync import grades as sync
from tests.helpers import free_port


def _seed(url: str, count: int) -> tuple[str, object]:
    registration = registration_for(url)
    course = Course(full_name="Benchmark course", short_name="BENCH")
    db.session.add(course)
    db.session.flush()
    activity = Activity(course_id=course.id, type="assignment", name="Essay", max_grade=100, position=1)
    db.session.add(activity)
    db.session.flush()
    resource = PublishedResource(course_id=course.id, activity_id=activity.id, target="activity",
                                 uuid=str(uuid.uuid4()))
    db.session.add(resource)
    db.session.flush()
    lineitem = f"{url}/contexts/c1/lineitems/1"
    link = ResourceLink(deployment_id=registration.deployments[0].id, resource_link_id="rl-1",
                        published_resource_id=resource.id, ags_lineitem_url=lineitem,
                        ags_lineitems_url=f"{url}/contexts/c1/lineitems", ags_scopes=list(AGS_SCOPES_USED))
    db.session.add(link)
    db.session.flush()
    now = datetime.now(timezone.utc)
    db.session.execute(insert(User.__table__), [
        {"username": f"bench{i}", "first_name": "Bench", "last_name": str(i), "email": f"b{i}@example.org",
         "auth_method": "lti", "created_at": now, "updated_at": now} for i in range(count)])
    users = dict(db.session.execute(db.select(User.username, User.id)).all())
    db.session.execute(insert(LtiUser.__table__), [
        {"user_id": users[f"bench{i}"], "published_resource_id": resource.id, "subject": f"sub-{i}",
         "created_at": now, "updated_at": now} for i in range(count)])
    lti_users = db.session.execute(db.select(LtiUser.id)).scalars().all()
    db.session.execute(insert(LtiUserResourceLink.__table__), [
        {"lti_user_id": lti_id, "resource_link_id": link.id, "created_at": now, "updated_at": now}
        for lti_id in lti_users])
    db.session.execute(insert(Grade.__table__), [
        {"activity_id": activity.id, "user_id": users[f"bench{i}"], "value": i % 100 + 0.5, "feedback": "",
         "changed_at": now, "created_at": now, "updated_at": now} for i in range(count)])
    db.session.commit()
    return lineitem, registration


def _raw_loop(lineitem: str, token: str, count: int, run: int) -> float:
    """The floor: one keep-alive session POSTing ready-made scores, nothing else."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.ims.lis.v1.score+json",
               "Accept": "application/json"}
    stamp = datetime.now(timezone.utc)
    started = time.perf_counter()
    for i in range(count):
        body = json.dumps({"userId": f"raw{run}-{i}", "scoreGiven": float(i % 100), "scoreMaximum": 100.0,
                           "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                           "timestamp": (stamp + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")})
        response = session.post(f"{lineitem}/scores", data=body, headers=headers, timeout=(10, 30))
        if response.status_code != 200:
            raise SystemExit(f"raw POST failed: {response.status_code} {response.text}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grades", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="postgresql: a throwaway server of Debian's PostgreSQL 15, started for the run")
    args = parser.parse_args()
    with bench_app(args.database) as (_app, folder), platform_process(folder, args.port or free_port()) as url:
        lineitem, registration = _seed(url, args.grades)
        token = service_token.access_token(registration, AGS_SCOPES_USED)
        db.session.commit()

        raw_before = _raw_loop(lineitem, token, args.grades, 1)
        started = time.perf_counter()
        queued = sync.queue_grade_pushes()
        db.session.commit()
        sweep = time.perf_counter() - started
        started = time.perf_counter()
        with worker.pipelined():  # as `lti worker` and `lti sync grades` run it
            stats = worker.run_due(limit=10 ** 9)
        pushed = time.perf_counter() - started
        raw_after = _raw_loop(lineitem, token, args.grades, 2)

        sent = db.session.execute(db.select(db.func.count(SyncJob.id)).where(SyncJob.status == "done")).scalar()
        raw = (raw_before + raw_after) / 2
        print(f"grades queued by the sweep: {queued} in {sweep:.2f} s")
        print(f"Courseport worker: {stats.done} sent ({sent} jobs done, {stats.retried} retried, {stats.failed} "
              f"failed) in {pushed:.2f} s = {pushed / args.grades * 1000:.3f} ms per grade")
        print(f"raw keep-alive POST loop: {raw_before:.2f} s before, {raw_after:.2f} s after, mean {raw:.2f} s = "
              f"{raw / args.grades * 1000:.3f} ms per POST")
        print(f"ratio Courseport / raw: {pushed / raw:.2f}x (target <= 1.2x)")
        print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
