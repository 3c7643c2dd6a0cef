"""LTI 1.3 OIDC login, resource launch, resume and new-window handoff, and the admin's
launch log.

The protocol POSTs are cross-site and CSRF-exempt; state, nonce and the platform's signature protect them.
Validation and `lti_launch.begin` write nothing before they can refuse except the consumed login state, so a
refusal commits exactly that consumption with its launch-log row (and, when held, the pending deployment).
"""
from __future__ import annotations

from datetime import date

from flask import (
    Blueprint, Response, abort, current_app, make_response, redirect, render_template, request, session, url_for,
)

from app.extensions import csrf, db
from app.lti.errors import LtiError, launch_error
from app.lti.launch import (
    FRAME_SESSION_KEY, LaunchData, create_handoff, enter_launched_session, forget_launch, forget_state_cookie,
    restore_launch, start_login, store_launch, take_handoff, validate_launch,
)
from app.models import PlatformRegistration
from app.security import admin_required, allow_framing
from app.services.launch import log as launch_log
from app.services.launch import flow as lti_launch
from app.services.errors import NotFound
from app.services.platforms.framing import frame_ancestors
from app.services.launch.log import Attempt
from app.services.platforms.settings import lti_settings

bp = Blueprint("launch", __name__)

ERROR_TITLE = "The tool could not be launched"
PER_PAGE = 50


def _attempt() -> Attempt:
    return Attempt(user_agent=request.user_agent.string, ip=request.remote_addr)


def _framed(settings: dict, launch: LaunchData | None = None) -> None:
    """Launch-time pages show inside the platform's frame (the launch's own platform, once validated)."""
    allow_framing(frame_ancestors(settings, launch, launch_page=True))


def _error_page(error: LtiError, reference: int | None):
    return render_template("errors/error.html", layout="embedded.html", title=ERROR_TITLE, message=error.message,
                           reference=reference), error.status


def _refuse(kind: str, error: LtiError, settings: dict, *, validating: bool = False):
    """Log the refusal and show the LTI error page. While validating, an unknown deployment is held for
    approval (or only logged) per the site's policy."""
    error, row = lti_launch.record_refusal(kind, error, _attempt(), settings, validating=validating)
    db.session.commit()
    _framed(settings)
    return _error_page(error, row.id)


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt
def login():
    """Initiate login URL: answer the platform's OIDC login with a redirect to its authentication URL."""
    try:
        started = start_login(current_app.config["COURSEPORT_BASE_URL"])
    except LtiError as error:
        return _refuse(launch_log.KIND_LOGIN, error, lti_settings())
    if isinstance(started, Response):
        return started  # the cookie probe's first pass
    fields = {"registration": started.registration, "deployment_id": started.deployment_hint,
              "cookie_method": started.cookie_method}
    if started.cookies_blocked:
        launch_log.record(launch_log.KIND_LOGIN, launch_log.FAILED, _attempt(),
                          error=launch_error("cookies_blocked"), **fields)
        db.session.commit()
        _framed(lti_settings())
        return render_template("launch/cookie_notice.html", title="Cookies are blocked by your browser",
                               relaunch_url=started.relaunch_url)
    launch_log.record(launch_log.KIND_LOGIN, launch_log.SUCCESS, _attempt(), **fields)
    db.session.commit()
    return started.response


def _log_fields(launch: LaunchData) -> dict:
    return {"issuer": launch.issuer, "client_id": launch.client_id, "deployment_id": launch.deployment_id,
            "subject": launch.subject, "resource_link_id": launch.resource_link_id,
            "message_type": launch.message_type, "cookie_method": launch.cookie_method,
            "clock_skew": launch.clock_skew, "resource_id": launch.resource_id}


def _log_accepted(launch: LaunchData, user_id: int | None = None) -> None:
    """The attempt's row: written when validation passes, told the user once an account is known."""
    if launch.log_id is None:
        row = launch_log.record(launch_log.KIND_LAUNCH, launch_log.SUCCESS, _attempt(),
                                registration_id=launch.registration_id, user_id=user_id, **_log_fields(launch))
        launch.log_id = row.id
    elif user_id is not None:
        launch_log.mark_user(launch.log_id, user_id)


def _proceed(launch: LaunchData, settings: dict, *, stored: bool):
    """Provision and land, or send the user to the Welcome page. `stored`: the launch is already kept."""
    outcome = lti_launch.begin(launch, settings)
    if isinstance(outcome, lti_launch.Prompt):
        _log_accepted(launch)
        store_launch(launch)
        db.session.commit()
        return redirect(url_for("provisioning.account", launch_id=launch.launch_id))
    _log_accepted(launch, outcome.user.id)
    if stored:
        forget_launch(launch.launch_id)
    enter_launched_session(outcome.user, outcome.embed_scope if outcome.embed else None,
                           frame_ancestors(settings, launch))
    db.session.commit()
    return redirect(outcome.path)


@bp.post("/lti/launch")
@csrf.exempt
def launch():
    """Tool URL: validate the platform's id_token, then sign in, enrol and land."""
    settings = lti_settings()
    try:
        data = validate_launch(leeway=settings["clock_leeway"])
    except LtiError as error:
        return _refuse(launch_log.KIND_LAUNCH, error, settings, validating=True)
    try:
        if data.cookie_method == "none" or not settings["allow_frame_embedding"]:
            response = _hand_off(data, settings)
        else:
            response = _proceed(data, settings, stored=False)
    except LtiError as error:
        error.details = {**_log_fields(data), "registration": db.session.get(PlatformRegistration,
                                                                             data.registration_id), **error.details}
        return _refuse(launch_log.KIND_LAUNCH, error, settings)
    forget_state_cookie(response, data)
    return response


def _hand_off(launch: LaunchData, settings: dict):
    """The frame cannot keep a session (or embedding is off): continue in a new top-level window."""
    lti_launch.check_usable(launch)
    _log_accepted(launch)
    store_launch(launch, bind=False)
    token = create_handoff(launch)
    db.session.commit()
    _framed(settings, launch)
    template = "launch/new_window.html" if launch.cookie_method == "none" else "launch/open_tool.html"
    return make_response(render_template(template, title="Open tool", handoff_url=url_for(".handoff", token=token)))


def _resume(launch_id: str | None = None, token: str | None = None):
    settings = lti_settings()
    try:
        data = take_handoff(token) if token else restore_launch(launch_id or "")
        if data.is_deep_link:
            db.session.commit()  # the handoff is used up; content selection continues on its own page
            return redirect(url_for("deeplink.selection", launch_id=data.launch_id))
        return _proceed(data, settings, stored=True)
    except LtiError as error:
        return _refuse(launch_log.KIND_LAUNCH, error, settings)


@bp.get("/lti/launch/<launch_id>")
def resume(launch_id: str):
    """Finish a launch after the Welcome page: only the browser session that validated it may."""
    return _resume(launch_id=launch_id)


@bp.get("/lti/continue/<token>")
def handoff(token: str):
    """New-window fallback: a single-use, 120-second handoff of a validated launch to this window."""
    return _resume(token=token)


@bp.before_app_request
def frame_launched_pages() -> None:
    """After a launch, the session's pages may be framed by the platforms (admin pages never)."""
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
        outcome=request.args.get("outcome", ""), registration_id=request.args.get("registration", type=int),
        kind=request.args.get("kind", ""), date_from=_date_arg("from"), date_to=_date_arg("to"),
        user=request.args.get("user", "").strip())
    page = db.paginate(launch_log.launches_query(filters), page=request.args.get("page", 1, type=int),
                       per_page=PER_PAGE, error_out=False)
    rows = list(page.items)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "launch/admin_launches.html", title="Launch log", page=page, rows=rows, filters=filters, args=args,
        registrations=launch_log.registrations_by_id(rows), users=launch_log.users_by_id(rows),
        resources=launch_log.resource_names(rows), all_registrations=launch_log.registration_choices(),
        kinds=launch_log.KINDS, outcomes=launch_log.OUTCOME_LABELS, lti_nav_active="Launch log",
        breadcrumbs=[("Site administration", url_for("admin_users.site_admin")), ("Launch log", None)])


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
        lti_nav_active="Launch log", breadcrumbs=[("Site administration", url_for("admin_users.site_admin")),
                     ("Launch log", url_for(".admin_launches")), (f"Launch {row.id}", None)])

