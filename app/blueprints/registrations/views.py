"""Site administration > Publish as LTI tool > Tool registration, Tool keys and Setup guides."""
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from app.blueprints.registrations.forms import (
    DEPLOYMENT_HELP, NAME_HELP, PLATFORM_HELP, DeploymentForm, PlatformDetailsForm, RegisterPlatformForm,
    show_errors,
)
from app.extensions import db
from app.lti.registration import tool_urls
from app.models.platforms import DEPLOYMENT_ACTIVE, DEPLOYMENT_IGNORED, DEPLOYMENT_PENDING
from app.security import admin_required
from app.templating import lti_admin_crumbs
from app.services.platforms import registration_urls
from app.services.platforms import registrations as platforms
from app.services.platforms import keys as tool_keys
from app.services.platforms import same_platform
from app.services.platforms.site_address import site_address
from app.services.errors import ServiceError, ValidationErrors

bp = Blueprint("registrations", __name__, url_prefix="/admin/lti")

TABS = (("tooldetails", "Tool details"), ("platformdetails", "Platform details"), ("tooldeployments", "Deployments"))
DEFAULT_TAB = "platformdetails"
GUIDES = {"moodle": "Moodle", "canvas": "Canvas", "brightspace": "Brightspace", "blackboard": "Blackboard",
          "sakai": "Sakai", "schoology": "Schoology"}


@bp.context_processor
def _site_address():
    """Every page here gives out URLs built from COURSEPORT_BASE_URL and warns while an LMS cannot use them."""
    return {"site_address": site_address()}


def _crumbs(*trail):
    return lti_admin_crumbs(("Tool registration", url_for("registrations.index")), *trail)


def _registration(registration_id: int):
    try:
        return platforms.get_registration(registration_id)
    except ServiceError:
        abort(404)


def _deployment(registration, deployment_pk: int):
    try:
        return platforms.get_deployment(registration, deployment_pk)
    except ServiceError:
        abort(404)


def _view_url(registration, tab: str) -> str:
    return url_for("registrations.view", registration_id=registration.id, tab=tab)


@bp.get("/registrations")
@admin_required
def index():
    return render_template("registrations/index.html", title="Registered platforms", rows=platforms.list_registrations(),
                           breadcrumbs=_crumbs(), lti_nav_active="Tool registration")


@bp.route("/registrations/new", methods=["GET", "POST"])
@admin_required
def create():
    form = RegisterPlatformForm()
    status = 200
    if form.validate_on_submit():
        try:
            registration = platforms.create_registration(form.name.data)
        except ValidationErrors as error:
            show_errors(form, error.errors)
            status = 400
        else:
            db.session.commit()
            return redirect(_view_url(registration, "tooldetails"))
    return render_template("registrations/new.html", title="Register a platform", form=form, helps=NAME_HELP,
                           breadcrumbs=_crumbs(("Register a platform", None)),
                           lti_nav_active="Tool registration"), status


@bp.get("/registrations/<int:registration_id>")
@admin_required
def view(registration_id: int):
    registration = _registration(registration_id)
    tab = request.args.get("tab", DEFAULT_TAB)
    if tab not in dict(TABS):
        tab = DEFAULT_TAB
    return render_template(
        "registrations/view.html", title="Edit registration", registration=registration, active_tab=tab,
        tabs=[(key, label, _view_url(registration, key)) for key, label in TABS], guides=GUIDES,
        urls=tool_urls(registration.login_id), url_state=registration_urls.registration_url_state(registration),
        active_deployments=platforms.deployments(registration, DEPLOYMENT_ACTIVE),
        pending_deployments=platforms.deployments(registration, DEPLOYMENT_PENDING),
        ignored_deployments=platforms.deployments(registration, DEPLOYMENT_IGNORED),
        last_launches=platforms.last_launches(registration), peers=same_platform.platform_peers(registration),
        candidates=same_platform.join_candidates(registration),
        last_test_at=datetime.fromisoformat(registration.last_test["at"]) if registration.last_test else None,
        breadcrumbs=_crumbs((registration.name, None)), lti_nav_active="Tool registration")


@bp.route("/registrations/<int:registration_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(registration_id: int):
    registration = _registration(registration_id)
    form = PlatformDetailsForm(data=platforms.platform_details(registration))
    status = 200
    if form.validate_on_submit():
        values = {name: form[name].data for name in platforms.DETAIL_FIELDS}
        try:
            platforms.update_platform_details(registration, **values)
        except ValidationErrors as error:
            db.session.rollback()
            show_errors(form, error.errors)
            status = 400
        else:
            db.session.commit()
            flash("Platform registration updated", "success")
            return redirect(_view_url(registration, "platformdetails"))
    return render_template("registrations/edit.html", title="Edit registration", form=form, helps=PLATFORM_HELP,
                           registration=registration, cancel_url=_view_url(registration, "platformdetails"),
                           breadcrumbs=_crumbs((registration.name, _view_url(registration, "platformdetails")),
                                               ("Edit platform details", None)),
                           lti_nav_active="Tool registration"), status


@bp.route("/registrations/<int:registration_id>/same-platform", methods=["GET", "POST"])
@admin_required
def same_platform_as(registration_id: int):
    """"Same platform as …": a confirmation page (works without JavaScript), then the POST that joins."""
    registration = _registration(registration_id)
    platform_id = request.values.get("platform", type=int)
    cancel_url = _view_url(registration, "platformdetails")
    error, platform, status = None, None, 200
    try:
        if request.method == "POST":
            joined = same_platform.join_platform(registration, platform_id)
            db.session.commit()
            flash(f"'{registration.name}' is now the same platform as '{joined.platform.name}'", "success")
            return redirect(cancel_url)
        platform = same_platform.checked_target(registration, platform_id)
    except ServiceError as failure:
        db.session.rollback()
        error, status = failure.message, failure.status
    title = "Same platform as …"
    return render_template("registrations/same_platform.html", title=title, registration=registration,
                           platform=platform, error=error, cancel_url=cancel_url,
                           breadcrumbs=_crumbs((registration.name, cancel_url), (title, None)),
                           lti_nav_active="Tool registration"), status


@bp.route("/registrations/<int:registration_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(registration_id: int):
    registration = _registration(registration_id)
    if request.method == "POST":
        platforms.delete_registration(registration)
        db.session.commit()
        flash("Platform registration deleted", "success")
        return redirect(url_for("registrations.index"))
    return render_template("registrations/delete.html", title="Delete platform registration",
                           registration=registration,
                           breadcrumbs=_crumbs((registration.name, _view_url(registration, DEFAULT_TAB)),
                                               ("Delete platform registration", None)),
                           lti_nav_active="Tool registration")


@bp.post("/registrations/<int:registration_id>/token")
@admin_required
def regenerate_token(registration_id: int):
    registration = _registration(registration_id)
    try:
        registration_urls.issue_registration_token(registration)
    except ServiceError as error:
        flash(error.message, "warning")
    else:
        db.session.commit()
        flash("A new registration URL has been generated.", "success")
    return redirect(_view_url(registration, "tooldetails"))


@bp.post("/registrations/<int:registration_id>/test")
@admin_required
def test_connection(registration_id: int):
    registration = _registration(registration_id)
    db.session.commit()  # nothing of this request's stays open while the platform is called
    try:
        platforms.run_connection_test(registration)
    except ServiceError as error:
        flash(error.message, "warning")
    else:
        db.session.commit()
    return redirect(_view_url(registration, "platformdetails") + "#test-result")


@bp.route("/registrations/<int:registration_id>/deployments/new", methods=["GET", "POST"])
@admin_required
def add_deployment(registration_id: int):
    registration = _registration(registration_id)
    form = DeploymentForm()
    status = 200
    if form.validate_on_submit():
        try:
            platforms.add_deployment(registration, form.name.data, form.deployment_id.data)
        except ValidationErrors as error:
            show_errors(form, error.errors)
            status = 400
        else:
            db.session.commit()
            flash("Deployment added", "success")
            return redirect(_view_url(registration, "tooldeployments"))
    return render_template("registrations/deployment_new.html", title="Add a deployment", form=form,
                           helps=DEPLOYMENT_HELP, cancel_url=_view_url(registration, "tooldeployments"),
                           breadcrumbs=_crumbs((registration.name, _view_url(registration, "tooldeployments")),
                                               ("Add a deployment", None)),
                           lti_nav_active="Tool registration"), status


@bp.route("/registrations/<int:registration_id>/deployments/<int:deployment_pk>/delete", methods=["GET", "POST"])
@admin_required
def delete_deployment(registration_id: int, deployment_pk: int):
    registration = _registration(registration_id)
    deployment = _deployment(registration, deployment_pk)
    if request.method == "POST":
        platforms.delete_deployment(deployment)
        db.session.commit()
        flash("Deployment deleted", "success")
        return redirect(_view_url(registration, "tooldeployments"))
    return render_template("registrations/deployment_delete.html", title="Delete deployment",
                           registration=registration, deployment=deployment,
                           cancel_url=_view_url(registration, "tooldeployments"),
                           breadcrumbs=_crumbs((registration.name, _view_url(registration, "tooldeployments")),
                                               ("Delete deployment", None)),
                           lti_nav_active="Tool registration")


DEPLOYMENT_DECISIONS = {"approve": (platforms.approve_deployment, "Deployment approved"),
                        "ignore": (platforms.ignore_deployment, "Deployment ignored")}


@bp.post("/registrations/<int:registration_id>/deployments/<int:deployment_pk>/<any(approve, ignore):decision>")
@admin_required
def decide_deployment(registration_id: int, deployment_pk: int, decision: str):
    """Approve or ignore a deployment held for approval."""
    registration = _registration(registration_id)
    act, message = DEPLOYMENT_DECISIONS[decision]
    try:
        act(_deployment(registration, deployment_pk))
    except ServiceError:
        abort(404)
    db.session.commit()
    flash(message, "success")
    return redirect(_view_url(registration, "tooldeployments"))


@bp.get("/guides")
@admin_required
def guides():
    return render_template("registrations/guides.html", title="Setup guides", guides=GUIDES,
                           rows=platforms.list_registrations(),
                           breadcrumbs=lti_admin_crumbs(("Setup guides", None)),
                           lti_nav_active="Setup guides")


@bp.get("/registrations/<int:registration_id>/guide/<lms>")
@admin_required
def guide(registration_id: int, lms: str):
    registration = _registration(registration_id)
    if lms not in GUIDES:
        abort(404)
    url_state = registration_urls.registration_url_state(registration)
    return render_template(f"registrations/guides/{lms}.html", title=f"Setup guide: {GUIDES[lms]}",
                           lms_name=GUIDES[lms], registration=registration, urls=tool_urls(registration.login_id),
                           url_state=url_state,
                           breadcrumbs=lti_admin_crumbs(("Setup guides", url_for("registrations.guides")),
                                                        (f"{GUIDES[lms]}: {registration.name}", None)),
                           lti_nav_active="Setup guides")


@bp.get("/keys")
@admin_required
def keys():
    rows = tool_keys.list_keys()
    db.session.commit()  # the first visit creates the Current and Next keys
    return render_template("registrations/keys.html", title="Tool keys", rows=rows,
                           grace_days=tool_keys.grace_days(),
                           breadcrumbs=lti_admin_crumbs(("Tool keys", None)),
                           lti_nav_active="Tool keys")


@bp.post("/keys/rotate")
@admin_required
def rotate_keys():
    key = tool_keys.rotate_keys()
    db.session.commit()
    flash(f"Keys rotated. New signing key: {key.kid}.", "success")
    return redirect(url_for("registrations.keys"))
