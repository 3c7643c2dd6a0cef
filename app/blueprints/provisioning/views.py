"""The "Welcome!" account prompt: a first launch in a prompt mode links an existing account (its
password proven in this browser session) or creates one, then continues the launch."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, logout_user

from app.blueprints.provisioning.forms import LinkForm, LinkLoginForm
from app.extensions import db
from app.lti.errors import LtiError
from app.lti.launch import LAUNCHES_SESSION_KEY, LaunchData, restore_launch
from app.models import AUTH_MANUAL, User
from app.security import allow_framing, sign_in
from app.services.accounts import users as accounts
from app.services.launch import outcome as launch_outcome
from app.services.launch import provisioning
from app.services.errors import ServiceError
from app.services.platforms.framing import frame_ancestors
from app.services.platforms.settings import lti_settings
from app.web.launch_pages import error_page

bp = Blueprint("provisioning", __name__)

NOTICES = {"linked": "Your existing account has been successfully linked.",
           "created": "Your account has been created and is now ready to use."}


def _continue_url(launch: LaunchData) -> str:
    if launch.is_deep_link:
        return f"/lti/deeplink/{launch.launch_id}"
    return url_for("launch.resume", launch_id=launch.launch_id)


def _linkable_signed_in() -> bool:
    """A manual account is signed in here: the page offers to link it (its password still required)."""
    return current_user.is_authenticated and current_user.auth_method == AUTH_MANUAL


def _welcome(launch: LaunchData, settings: dict, *, error: str | None = None, status: int = 200,
             form: LinkForm | LinkLoginForm | None = None):
    if form is None:
        form = LinkForm() if _linkable_signed_in() else LinkLoginForm()
    return render_template("provisioning/welcome.html", title="Welcome!", launch=launch, form=form, error=error,
                           linking_signed_in=isinstance(form, LinkForm),
                           offer_create=provisioning.creation_offered(launch, settings)), status


def _signed_in_as(user: User, launch: LaunchData, done: str):
    """Rotate the session for the linked or created account; this browser keeps its launches."""
    sign_in(user, keep=(LAUNCHES_SESSION_KEY,))
    db.session.commit()
    return redirect(url_for(".account", launch_id=launch.launch_id, done=done))


def _link(launch: LaunchData, settings: dict, form: LinkForm | LinkLoginForm):
    username = current_user.username if isinstance(form, LinkForm) else (form.username.data or "")
    try:
        user = accounts.authenticate(username, form.password.data or "", request.remote_addr or "")
    except ServiceError as error:
        db.session.commit()  # the throttle counts the failed attempt
        return _welcome(launch, settings, error=error.message, status=error.status, form=form)
    try:
        provisioning.link_account(user, launch, settings)
    except ServiceError as error:
        db.session.rollback()
        return _welcome(launch, settings, error=error.message, status=error.status, form=form)
    return _signed_in_as(user, launch, "linked")


@bp.route("/lti/account/<launch_id>", methods=["GET", "POST"])
def account(launch_id: str):
    settings = lti_settings()
    allow_framing(frame_ancestors(settings))
    try:
        launch = restore_launch(launch_id)
        allow_framing(frame_ancestors(settings, launch))
        launch_outcome.check_usable(launch)
        if request.method == "POST" and request.args.get("action") == "create":
            return _signed_in_as(launch_outcome.create_account(launch, settings), launch, "created")
    except LtiError as error:
        return error_page(error)
    bound = provisioning.launch_user(launch)
    if bound is not None:
        done = request.args.get("done")
        if request.method == "GET" and done in NOTICES and current_user.is_authenticated and \
                current_user.id == bound.id:
            return render_template("provisioning/done.html", title="Welcome!", notice=NOTICES[done],
                                   continue_url=_continue_url(launch))
        return redirect(_continue_url(launch))
    if request.method == "GET":
        return _welcome(launch, settings)
    action = request.args.get("action")
    if action == "switch":
        logout_user()  # "Not you?": the launches this browser holds stay in its session
        return redirect(url_for(".account", launch_id=launch_id))
    form = LinkForm() if action == "link" and _linkable_signed_in() else LinkLoginForm()
    if action in ("link", "login") and form.validate():
        return _link(launch, settings, form)
    return _welcome(launch, settings, error="Invalid login, please try again", status=400, form=form)
