"""Benchmark (not a timed test): sync a 10,000-member roster served 100 per page by a local platform.

    .venv/bin/python bench/members.py [--members N] [--port P]

Timed: the member-sync job from its first page request to its commit — every page fetched, 10,000 accounts
created and bound, LTI users and links, enrolments and roles written (first run), then a second run where
everyone is already in place. Peak RSS is the whole benchmark process's.
"""
from __future__ import annotations

import argparse
import time
import uuid

from _sync_setup import bench_app, peak_rss_mb, platform_process, registration_for

from app.extensions import db
from app.jobs import worker
from app.models import Course, Enrolment, PublishedResource, ResourceLink, SyncJob, User
from app.services.sync import queueing
from tests.helpers import free_port


def _run(resource_id: int) -> tuple[float, dict]:
    queueing.queue_member_syncs(resource_id)
    db.session.commit()
    started = time.perf_counter()
    with worker.pipelined():  # as `lti worker` and `lti sync members` run it
        stats = worker.run_due(limit=1)
    elapsed = time.perf_counter() - started
    job = db.session.execute(db.select(SyncJob).order_by(SyncJob.id.desc())).scalars().first()
    assert stats.done == 1, job.last_error
    return elapsed, job.result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with bench_app() as (_app, folder), platform_process(folder, args.port or free_port(), args.members) as url:
        registration = registration_for(url)
        course = Course(full_name="Benchmark course", short_name="BENCH")
        db.session.add(course)
        db.session.flush()
        resource = PublishedResource(course_id=course.id, target="course", uuid=str(uuid.uuid4()))
        db.session.add(resource)
        db.session.flush()
        db.session.add(ResourceLink(deployment_id=registration.deployments[0].id, resource_link_id="rl-1",
                                    published_resource_id=resource.id, nrps_memberships_url=f"{url}/contexts/c1/memberships",
                                    nrps_versions=["2.0"]))
        db.session.commit()
        resource_id = resource.id

        first, result = _run(resource_id)
        accounts = db.session.execute(db.select(db.func.count(User.id))).scalar()
        enrolled = db.session.execute(db.select(db.func.count(Enrolment.id))).scalar()
        print(f"first sync: {first:.2f} s for {result['processed']} members ({args.members // 100} pages): "
              f"{result['created']} accounts created, {result['enrolled']} enrolled "
              f"(database: {accounts} users, {enrolled} enrolments)")
        second, result = _run(resource_id)
        print(f"second sync (everyone in place): {second:.2f} s, {result['enrolled']} enrolled, "
              f"{result['unenrolled']} unenrolled")
        print(f"peak RSS: {peak_rss_mb():.0f} MB (targets: < 1.5 s, < 200 MB)")


if __name__ == "__main__":
    main()
