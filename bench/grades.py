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
from datetime import datetime, timedelta, timezone

import requests
from _sync_setup import bench_app, peak_rss_mb, platform_process, registration_for

from app.extensions import db
from app.jobs import worker
from app.lti import service_token
from app.lti.ags_nrps import AGS_SCOPES_USED
from app.models import SyncJob
from app.services.sync import queueing
from tests.helpers import free_port
from tests.sync_factories import graded_students


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
        registration = registration_for(url)
        lineitem = f"{url}/contexts/c1/lineitems/1"  # the platform process's one line item
        graded_students(registration, lineitem, args.grades)
        token = service_token.access_token(registration, AGS_SCOPES_USED)
        db.session.commit()

        raw_before = _raw_loop(lineitem, token, args.grades, 1)
        started = time.perf_counter()
        queued = queueing.queue_grade_pushes()
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
