"""Published as LTI tools: the course page, the publish form, enable/disable/delete and the
site-wide list of published resources."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.tools.forms import PublishForm, form_data
from app.extensions import db
from app.limits import db_int
from app.models import Course, PublishedResource
from app.security import admin_required, deny_framing
from app.services.publishing import listings, publish_values
from app.services.publishing import resources as publishing
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.courses.permissions import can_manage_course, can_view_staff_pages
from app.services.publishing.publish_values import LTI_VERSIONS, PublishValues
from app.templating import course_crumbs, lti_admin_crumbs, viewer_zone

bp = Blueprint("tools", __name__)
# These pages show legacy secrets and the publishing settings: never inside a frame, not even a launched session's.
bp.before_request(deny_framing)


def _course(course_id: int, *, manage: bool) -> Course:
    """The course, if the signed-in user may view (or, with `manage`, change) its published resources."""
    course = db.get_or_404(Course, course_id)
    allowed = can_manage_course if manage else can_view_staff_pages
    if not allowed(current_user, course):
        abort(403)
    return course


def _resource(course: Course, resource_id: int) -> PublishedResource:
    try:
        return publishing.get_course_resource(course, resource_id)
    except NotFound as error:
        abort(404, error.message)


def _tab_url(course: Course, legacy: bool) -> str:
    return url_for("tools.course_tools", course_id=course.id, tab="legacy" if legacy else None)


def _course_crumbs(course: Course, *more: tuple[str, str | None],
                   legacy: bool = False) -> list[tuple[str, str | None]]:
    return course_crumbs(course, ("Published as LTI tools", _tab_url(course, legacy)), *more)


@bp.get("/course/<int:course_id>/lti")
@login_required
def course_tools(course_id: int):
    """The LTI Advantage tab, or the Legacy tab with `?tab=legacy`: what platform admins need to paste."""
    course = _course(course_id, manage=False)
    legacy = request.args.get("tab") == "legacy"
    page = db.paginate(listings.course_resources_query(course, legacy), per_page=listings.PER_PAGE,
                       error_out=False)
    resources = list(page.items)
    return render_template(
        "tools/course_tools.html", title=f"Course: {course.full_name}", course=course, legacy=legacy, page=page,
        rows=[{"resource": resource, "name": publishing.resource_display_name(resource),
               "details": publishing.launch_details(resource)} for resource in resources],
        sync=listings.sync_states(resources),
        can_manage=can_manage_course(current_user, course),
        breadcrumbs=_course_crumbs(course))


def _publish_form(course: Course, resource: PublishedResource | None, initial: PublishValues, legacy: bool):
    """The form for a new or existing resource; Cancel and the breadcrumb return to the tab it came from."""
    zone = viewer_zone()
    form = PublishForm(data=form_data(initial, zone))
    form.set_choices(course.activities, listings.registration_choices(),
                     activity_deleted=resource is not None and resource.activity_deleted)
    status = 200
    if form.is_submitted():
        form_ok = form.validate()
        values = form.values(zone)
        try:
            if not form_ok:
                publishing.validate(course, values, resource)  # so every field's message shows at once
            elif resource is None:
                resource = publishing.publish(course, values)
            else:
                publishing.update(resource, values)
        except ValidationErrors as error:
            form.add_errors(error.errors)
            form_ok = False
        if form_ok:
            db.session.commit()
            flash("Changes saved", "success")
            return redirect(_tab_url(course, resource.is_legacy))
        status = 400
    return render_template(
        "tools/publish_form.html", title="Publish as LTI tool", form=form, course=course, resource=resource,
        submit_label="Save changes" if resource else "Add method", cancel_url=_tab_url(course, legacy),
        breadcrumbs=_course_crumbs(course, ("Publish as LTI tool", None), legacy=legacy)), status


@bp.route("/course/<int:course_id>/lti/new", methods=["GET", "POST"])
@login_required
def new_resource(course_id: int):
    course = _course(course_id, manage=True)
    legacy = request.args.get("legacy") == "1"
    return _publish_form(course, None, publish_values.new_values(legacy), legacy)


@bp.route("/course/<int:course_id>/lti/<int:resource_id>/edit", methods=["GET", "POST"])
@login_required
def edit_resource(course_id: int, resource_id: int):
    course = _course(course_id, manage=True)
    resource = _resource(course, resource_id)
    return _publish_form(course, resource, publish_values.values_from_resource(resource), resource.is_legacy)


def _toggle(course_id: int, resource_id: int, enabled: bool):
    course = _course(course_id, manage=True)
    resource = _resource(course, resource_id)
    try:
        publishing.set_enabled(resource, enabled)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash("Published resource enabled." if enabled else "Published resource disabled.", "success")
    return redirect(_tab_url(course, resource.is_legacy))


@bp.post("/course/<int:course_id>/lti/<int:resource_id>/enable")
@login_required
def enable_resource(course_id: int, resource_id: int):
    return _toggle(course_id, resource_id, True)


@bp.post("/course/<int:course_id>/lti/<int:resource_id>/disable")
@login_required
def disable_resource(course_id: int, resource_id: int):
    return _toggle(course_id, resource_id, False)


@bp.route("/course/<int:course_id>/lti/<int:resource_id>/delete", methods=["GET", "POST"])
@login_required
def delete_resource(course_id: int, resource_id: int):
    """Confirm with the number of users it would unenrol, then delete in one transaction."""
    course = _course(course_id, manage=True)
    resource = _resource(course, resource_id)
    back = _tab_url(course, resource.is_legacy)
    if request.method == "POST":
        publishing.delete(resource)
        db.session.commit()
        flash("Published resource deleted.", "success")
        return redirect(back)
    return render_template(
        "tools/delete.html", title="Delete published resource", course=course, resource=resource,
        name=publishing.resource_display_name(resource), enrolled=listings.enrolled_count(resource),
        cancel_url=back, breadcrumbs=_course_crumbs(course, ("Delete", None), legacy=resource.is_legacy))


STATUS_FILTERS = {"enabled": True, "disabled": False}


@bp.get("/admin/lti/published")
@admin_required
def admin_published():
    """Every published resource on the site, filtered by LTI version, status and course."""
    filters: dict[str, Any] = {
        "version": request.args.get("version", "") if request.args.get("version") in LTI_VERSIONS else "",
        "status": request.args.get("status", "") if request.args.get("status") in STATUS_FILTERS else "",
        "course": request.args.get("course", type=db_int) or "",
    }
    query = listings.site_resources_query(lti_version=filters["version"] or None,
                                            enabled=STATUS_FILTERS.get(filters["status"]),
                                            course_id=filters["course"] or None)
    page = db.paginate(query, per_page=listings.PER_PAGE, error_out=False)
    resources = list(page.items)
    return render_template(
        "tools/admin_published.html", title="Published resources", page=page, filters=filters,
        rows=[{"resource": resource, "name": publishing.resource_display_name(resource)} for resource in resources],
        users=listings.enrolled_counts(resources), last_launch=listings.last_launches(resources),
        courses=db.session.scalars(db.select(Course).order_by(Course.full_name)).all(),
        versions=LTI_VERSIONS,
        lti_nav_active="Published resources",
        breadcrumbs=lti_admin_crumbs(("Published resources", None)))
