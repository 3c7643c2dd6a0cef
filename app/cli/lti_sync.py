"""`flask --app wsgi lti sync grades|members`, `lti worker`, `lti jobs …`.

`lti worker` is the second process beside the web server; `lti sync …` is the same work for cron.
"""
from __future__ import annotations

import signal
import threading
from typing import Any

import click

from app.cli.output import DB_ID, emit, json_option
from app.extensions import db
from app.jobs import sweeps, worker as job_worker
from app.jobs.queue import GRADE_PUSH, MEMBER_SYNC, OUTCOME_PUSH
from app.models import PublishedResource
from app.services.sync import jobs as sync_jobs
from app.services.errors import NotFound

SYNC_KINDS = {"grades": (sweeps.GRADE_SWEEP, (GRADE_PUSH, OUTCOME_PUSH), "Grade synchronisation"),
              "members": (sweeps.MEMBER_SWEEP, (MEMBER_SYNC,), "User synchronisation")}


def _stats_text(stats: dict[str, Any]) -> str:
    return (f"processed {stats['processed']} jobs: {stats['done']} done, {stats['retried']} to retry later, "
            f"{stats['failed']} failed")


@click.group("sync")
def sync() -> None:
    """Run a synchronisation sweep, then the due jobs it is about (for cron)."""


def _run_sync(what: str, resource_id: int | None, as_json: bool) -> None:
    sweep, kinds, label = SYNC_KINDS[what]
    if resource_id is not None and db.session.get(PublishedResource, resource_id) is None:
        raise NotFound(f"Published resource not found: {resource_id}")
    summary = sweeps.run_sweep(sweep, resource_id)
    with job_worker.pipelined():
        stats = job_worker.run_due(limit=10 ** 9, kinds=kinds, resource_id=resource_id).as_dict()
    emit({"sweep": sweep, "queued": summary.get("queued", 0), "jobs": stats}, as_json,
         f"{label}: queued {summary.get('queued', 0)} jobs; {_stats_text(stats)}.")


@sync.command("grades")
@click.option("--resource", "resource_id", type=DB_ID, help="Only this published resource.")
@json_option
def sync_grades(resource_id: int | None, as_json: bool) -> None:
    """Queue a push for every changed grade, then send the due grade jobs."""
    _run_sync("grades", resource_id, as_json)


@sync.command("members")
@click.option("--resource", "resource_id", type=DB_ID, help="Only this published resource.")
@json_option
def sync_members(resource_id: int | None, as_json: bool) -> None:
    """Queue a member sync for each resource with user synchronisation, then run the due ones."""
    _run_sync("members", resource_id, as_json)


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one round (heartbeat, due sweeps, due jobs) and exit.")
@json_option
def worker(once: bool, as_json: bool) -> None:
    """Run the job worker: every 5 seconds a heartbeat, the due sweeps and the due jobs, until stopped."""
    if once:
        with job_worker.pipelined():
            result = job_worker.loop(once=True) or {}
        jobs_done = result.get("jobs", {"processed": 0, "done": 0, "retried": 0, "failed": 0})
        emit(result, as_json, f"Sweeps run: {', '.join(result.get('sweeps', {})) or 'none'}; "
                              f"{_stats_text(jobs_done)}.")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    emit({"worker": job_worker.worker_name(), "status": "started"}, as_json,
         f"Worker {job_worker.worker_name()} started; stop it with Ctrl+C or SIGTERM.")
    with job_worker.pipelined():
        job_worker.loop(stop=stop)
    emit({"worker": job_worker.worker_name(), "status": "stopped"}, as_json, "Worker stopped.")


@click.group("jobs")
def jobs() -> None:
    """Sync jobs: list them, retry one or every failed one."""


@jobs.command("list")
@click.option("--status", default=sync_jobs.DEFAULT_STATUS, show_default=True,
              help="pending, running, done, failed or all.")
@json_option
def list_jobs(status: str, as_json: bool) -> None:
    """The jobs with this status, newest first (like Site administration > Sync jobs)."""
    rows = sync_jobs.job_rows(list(db.session.execute(sync_jobs.jobs_query(sync_jobs.parse_status(status)))
                                   .scalars()))
    emit([row.as_dict() for row in rows], as_json)


@jobs.command("retry")
@click.argument("job_id", type=DB_ID)
@json_option
def retry_job(job_id: int, as_json: bool) -> None:
    """Back to Pending and due now; attempts are kept."""
    job = sync_jobs.retry_job(sync_jobs.get_job(job_id))
    db.session.commit()
    row = sync_jobs.job_rows([job])[0].as_dict()
    emit(row, as_json, f"Sync job {job.id} queued.")


@jobs.command("retry-failed")
@json_option
def retry_failed(as_json: bool) -> None:
    """Every failed job back to Pending, due now."""
    count = sync_jobs.retry_all_failed()
    db.session.commit()
    emit({"retried": count}, as_json, f"{count} failed sync {'job' if count == 1 else 'jobs'} queued.")
