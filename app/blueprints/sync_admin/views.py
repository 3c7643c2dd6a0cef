"""Synchronisation screens: a resource's sync status with "Sync now" and the site's sync jobs.

Jobs only get queued here; the worker process sends them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.limits import page_number
from app.models import Course, PublishedResource, SyncJob
from app.models.jobs import JOB_FAILED
from app.security import admin_required
from app.templating import course_crumbs, lti_admin_crumbs
from app.services.legacy import outcomes as legacy_outcomes
from app.services.publishing import resources as publishing
from app.services.sync import jobs as sync_jobs
from app.services.sync import queueing
from app.services.sync import status as sync_status
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.courses.permissions import can_manage_course, can_view_staff_pages

bp = Blueprint("sync_admin", __name__)


@dataclass(frozen=True)
class ListPage:
    """A page of an already built list, shaped like flask-sqlalchemy's Pagination for the `pager` macro."""

    items: list[Any]
    page: int
    pages: int

    @classmethod
    def of(cls, rows: list[Any], page: int, per_page: int) -> "ListPage":
        pages = max(math.ceil(len(rows) / per_page), 1)
        page = min(max(page, 1), pages)
        return cls(rows[(page - 1) * per_page:page * per_page], page, pages)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _page_number() -> int:
    return request.args.get("page", 1, type=page_number) or 1


def _course_resource(course_id: int, resource_id: int, *, manage: bool) -> tuple[Course, PublishedResource]:
    course = db.get_or_404(Course, course_id)
    if not (can_manage_course if manage else can_view_staff_pages)(current_user, course):
        abort(403)
    try:
        return course, publishing.get_course_resource(course, resource_id)
    except NotFound:
        abort(404)


def _status_url(course: Course, resource: PublishedResource) -> str:
    return url_for("sync_admin.sync_status", course_id=course.id, resource_id=resource.id)


def _crumbs(course: Course, resource: PublishedResource, name: str) -> list[tuple[str, str | None]]:
    tools_href = url_for("tools.course_tools", course_id=course.id, tab="legacy" if resource.is_legacy else None)
    return course_crumbs(course, ("Published as LTI tools", tools_href), (f"Synchronisation: {name}", None))


@bp.get("/course/<int:course_id>/lti/<int:resource_id>/sync", endpoint="sync_status")
@login_required
def status_page(course_id: int, resource_id: int):
    course, resource = _course_resource(course_id, resource_id, manage=False)
    status = request.args.get("status", "")
    status = status if status in sync_status.FILTERS else ""
    search = request.args.get("q", "").strip()
    rows = sync_status.user_rows(resource)
    name = publishing.resource_display_name(resource)
    return render_template(
        "sync_admin/status.html", title=f"Synchronisation: {name}", course=course, resource=resource,
        grades=sync_status.grade_panel(resource, rows), users=sync_status.user_panel(resource),
        silence=sync_status.worker_silence_minutes(), filters=sync_status.FILTERS, status=status, search=search,
        page=ListPage.of(sync_status.filter_rows(rows, status, search), _page_number(), sync_status.PER_PAGE),
        can_manage=can_manage_course(current_user, course), breadcrumbs=_crumbs(course, resource, name))


@bp.post("/course/<int:course_id>/lti/<int:resource_id>/sync/grades")
@login_required
def sync_grades_now(course_id: int, resource_id: int):
    course, resource = _course_resource(course_id, resource_id, manage=True)
    queueing.queue_grade_pushes(resource.id, everything=True)
    legacy_outcomes.queue_outcome_pushes(resource.id, everything=True)  # each queues only its own LTI version
    db.session.commit()
    flash("Grade synchronisation queued.", "success")
    return redirect(_status_url(course, resource))


@bp.post("/course/<int:course_id>/lti/<int:resource_id>/sync/members")
@login_required
def sync_members_now(course_id: int, resource_id: int):
    course, resource = _course_resource(course_id, resource_id, manage=True)
    queueing.queue_member_syncs(resource.id)
    db.session.commit()
    flash("User synchronisation queued.", "success")
    return redirect(_status_url(course, resource))


@bp.post("/course/<int:course_id>/lti/<int:resource_id>/sync/jobs/<int:job_id>/retry")
@login_required
def retry_resource_job(course_id: int, resource_id: int, job_id: int):
    """"Retry" on a failed row of the per-user table."""
    course, resource = _course_resource(course_id, resource_id, manage=True)
    job = db.session.get(SyncJob, job_id)
    if job is None or job.published_resource_id != resource.id:
        abort(404)
    _retry(job)
    return redirect(_status_url(course, resource))


def _retry(job: SyncJob) -> None:
    try:
        sync_jobs.retry_job(job)
    except ServiceError as error:
        flash(error.message, "error")
        return
    db.session.commit()
    flash(f"Sync job {job.id} queued.", "success")


@bp.get("/admin/lti/jobs")
@admin_required
def jobs():
    try:
        status = sync_jobs.parse_status(request.args.get("status"))
    except ValidationErrors:
        abort(400)
    page = db.paginate(sync_jobs.jobs_query(status), page=_page_number(), per_page=sync_jobs.PER_PAGE,
                       error_out=False)
    failed = db.session.scalar(db.select(db.func.count()).select_from(sync_jobs.jobs_query(JOB_FAILED).subquery()))
    return render_template(
        "sync_admin/jobs.html", title="Sync jobs", rows=sync_jobs.job_rows(list(page.items)), page=page,
        failed=failed,
        status=status or sync_jobs.ALL, statuses=sync_jobs.STATUS_LABELS, lti_nav_active="Sync jobs",
        breadcrumbs=lti_admin_crumbs(("Sync jobs", None)))


@bp.post("/admin/lti/jobs/<int:job_id>/retry")
@admin_required
def retry_job(job_id: int):
    _retry(db.get_or_404(SyncJob, job_id))
    return redirect(url_for("sync_admin.jobs", status=request.form.get("status") or None))


@bp.post("/admin/lti/jobs/retry-failed")
@admin_required
def retry_failed():
    count = sync_jobs.retry_all_failed()
    db.session.commit()
    flash(f"{count} failed sync {'job' if count == 1 else 'jobs'} queued.", "success")
    return redirect(url_for("sync_admin.jobs"))
