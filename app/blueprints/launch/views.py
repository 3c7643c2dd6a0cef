"""LTI 1.3 OIDC login, resource launch, resume and new-window handoff, and the admin's
launch log.

The protocol POSTs are cross-site and CSRF-exempt; state, nonce and the platform's signature protect them.
Validation and `outcome.begin` write nothing before they can refuse except the consumed login state, so a
refusal commits exactly that consumption with its launch-log row (and, when held, the pending deployment).
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, session, url_for

from app.extensions import csrf, db
from app.limits import db_int, page_number
from app.lti.errors import LtiError, launch_error
from app.lti.launch import (
    FRAME_SESSION_KEY, LaunchData, forget_state_cookie, restore_launch, start_login, take_handoff, validate_launch,
)
from app.lti.platform_storage import StorageNeeded
from app.security import admin_required, allow_framing
from app.templating import lti_admin_crumbs
from app.services.errors import NotFound
from app.services.launch import flow as lti13
from app.services.launch import log as launch_log
from app.services.platforms.settings import lti_settings
from app.web import frame_session, launch_pages

bp = Blueprint("launch", __name__)

PER_PAGE = 50


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt
def login():
    """Initiate login URL: answer the platform's OIDC login with a redirect to its authentication URL."""
    try:
        started = start_login(current_app.config["COURSEPORT_BASE_URL"])
    except LtiError as error:
        return launch_pages.refuse(launch_log.KIND_LOGIN, error, lti_settings())
    if isinstance(started, Response):
        return started  # the cookie probe's first pass
    if started.cookies_blocked:
        launch_log.login(launch_pages.attempt(), started, error=launch_error("cookies_blocked"))
        db.session.commit()
        launch_pages.framed_launch_page(lti_settings())
        return render_template("launch/cookie_notice.html", title="Cookies are blocked by your browser",
                               relaunch_url=started.relaunch_url)
    launch_log.login(launch_pages.attempt(), started)
    db.session.commit()
    if started.storage is not None:
        return launch_pages.storage_page(started.storage, lti_settings(), started.relaunch_url,
                                         login_response=started.response,
                                         cookies_blocked=started.no_cookie)
    return started.response


@bp.post("/lti/launch")
@csrf.exempt
def launch():
    """Tool URL: validate the platform's id_token, then sign in, enrol and land."""
    settings = lti_settings()
    try:
        data = validate_launch(leeway=settings["clock_leeway"])
    except StorageNeeded as needed:
        return launch_pages.storage_page(needed.request, settings, needed.relaunch_url, relaunch=True)
    except LtiError as error:
        return launch_pages.refuse(launch_log.KIND_LAUNCH, error, settings, validating=True)
    try:
        if data.cookie_method == "none" or not settings["allow_frame_embedding"]:
            response = _hand_off(data, settings)
        else:
            if data.cookie_method == "storage":
                frame_session.begin()
            response = launch_pages.proceed(launch_log.KIND_LAUNCH, data, settings, stored=False)
    except LtiError as error:
        return launch_pages.refuse(launch_log.KIND_LAUNCH, error, settings, data)
    forget_state_cookie(response, data)
    return response


def _hand_off(launch: LaunchData, settings: dict):
    lti13.check_usable(launch)
    row = launch_log.accepted(launch_log.KIND_LAUNCH, launch, launch_pages.attempt())
    return launch_pages.hand_off(launch, settings, log_id=row.id)


def _resume(launch_id: str | None = None, token: str | None = None):
    settings = lti_settings()
    try:
        data = take_handoff(token) if token else restore_launch(launch_id or "")
        if data.is_deep_link:
            db.session.commit()  # the handoff is used up; content selection continues on its own page
            return redirect(url_for("deeplink.selection", launch_id=data.launch_id))
        return launch_pages.proceed(launch_log.KIND_LAUNCH, data, settings, stored=True)
    except LtiError as error:
        return launch_pages.refuse(launch_log.KIND_LAUNCH, error, settings)


@bp.get("/lti/launch/<launch_id>")
def resume(launch_id: str):
    """Finish a launch after the Welcome page: only the browser session that validated it may."""
    return _resume(launch_id=launch_id)


@bp.get("/lti/continue/<token>")
def handoff(token: str):
    """New-window fallback: a single-use, 120-second handoff of a validated launch to this window."""
    return _resume(token=token)


@bp.before_app_request
def frame_launched_pages():
    """After a launch, the session's pages may be framed by the platforms (admin pages never). A frame whose
    cookie-less session token is spent (back, reload, an old link) is told to launch again."""
    if frame_session.ended():
        settings = lti_settings()
        launch_pages.framed_launch_page(settings)
        return launch_pages.error_page(launch_error("frame_session_ended"))
    origins = session.get(FRAME_SESSION_KEY)
    if origins is not None and not request.path.startswith("/admin"):
        allow_framing(origins)


# Launch log --------------------------------------------------------------------------------------
def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/admin/lti/launches")
@admin_required
def admin_launches():
    filters = launch_log.LogFilters(
        outcome=request.args.get("outcome", ""), registration_id=request.args.get("registration", type=db_int),
        kind=request.args.get("kind", ""), date_from=_date_arg("from"), date_to=_date_arg("to"),
        user=request.args.get("user", "").strip())
    page = db.paginate(launch_log.launches_query(filters), page=request.args.get("page", 1, type=page_number),
                       per_page=PER_PAGE, error_out=False)
    rows = list(page.items)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "launch/admin_launches.html", title="Launch log", page=page, rows=rows, filters=filters, args=args,
        registrations=launch_log.registrations_by_id(rows), users=launch_log.users_by_id(rows),
        resources=launch_log.resource_names(rows), all_registrations=launch_log.registration_choices(),
        kinds=launch_log.KINDS, outcomes=launch_log.OUTCOME_LABELS, lti_nav_active="Launch log",
        breadcrumbs=lti_admin_crumbs(("Launch log", None)))


@bp.get("/admin/lti/launches/<int:log_id>")
@admin_required
def admin_launch(log_id: int):
    try:
        row = launch_log.get_launch(log_id)
    except NotFound:
        abort(404)
    return render_template(
        "launch/admin_launch.html", title=f"Launch {row.id}", row=row,
        registration=launch_log.registrations_by_id([row]).get(row.registration_id),
        user=launch_log.users_by_id([row]).get(row.user_id), resource_name=launch_log.resource_names([row]).get(
            row.published_resource_id), outcomes=launch_log.OUTCOME_LABELS, cookies=launch_log.COOKIE_LABELS,
        lti_nav_active="Launch log", breadcrumbs=lti_admin_crumbs(
            ("Launch log", url_for(".admin_launches")), (f"Launch {row.id}", None)))

