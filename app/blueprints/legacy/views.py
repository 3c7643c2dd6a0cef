"""Legacy LTI endpoints and the admin list of legacy consumers.

The launch and registration POSTs come cross-site from an LMS, so they are CSRF-exempt: the launch is protected
by its OAuth 1.0a signature and nonce, the registration by the resource's unguessable token.
"""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from app.extensions import csrf, db
from app.lti.legacy import launch as lti11
from app.lti.legacy import tool_proxy as lti2_registration
from app.lti.legacy.cartridge import CONTENT_TYPE, cartridge_xml
from app.lti.errors import LtiError
from app.lti.launch import LaunchData, create_handoff, enter_launched_session, store_launch
from app.lti.legacy.launch import LegacyLaunchError, resource_by_token, with_params
from app.lti.legacy.tool_proxy import InvalidRegistrationRequest, RegistrationError
from app.security import admin_required, allow_framing
from app.services.launch import log as launch_log
from app.services.legacy import consumers as legacy
from app.services.launch import flow as lti_launch
from app.services.platforms.framing import frame_ancestors
from app.services.launch.log import Attempt
from app.services.platforms.settings import lti_settings

bp = Blueprint("legacy", __name__)

KIND_LAUNCH = "LTI 1.1 launch"
KIND_REGISTRATION = "LTI 2 registration"
LAUNCH_FAILED = "The tool could not be launched"
REGISTRATION_FAILED = "The tool could not be registered"


def _attempt() -> Attempt:
    return Attempt(user_agent=request.user_agent.string, ip=request.remote_addr)


def _failed(message: str, status: int, heading: str, reference: int | None = None):
    return render_template("legacy/failed.html", title=heading, message=message, reference=reference), status


def _log_fields(launch: LaunchData) -> dict:
    legacy_values = launch.legacy or {}
    return {"issuer": launch.issuer, "subject": launch.subject, "consumer_key": legacy_values.get("consumer_key"),
            "resource_link_id": launch.resource_link_id, "message_type": launch.message_type,
            "clock_skew": launch.clock_skew, "resource_id": launch.resource_id}


def _refuse(error: LtiError, settings: dict, return_url: str | None = None, **fields):
    """Log the refusal; send it back to the LMS when the signature had verified, else show the error page."""
    details = error.details
    fields = {"consumer_key": details.get("consumer_key"), "resource_id": details.get("resource_id"), **fields}
    row = launch_log.record_failure(KIND_LAUNCH, error, _attempt(), **fields)
    db.session.commit()
    back = lti11.error_return_url(return_url, error.message)
    if back:
        return redirect(back)
    allow_framing(frame_ancestors(settings))
    return _failed(error.message, error.status, LAUNCH_FAILED, row.id)


@bp.post("/lti/v1/launch/<int:tool_id>")
@csrf.exempt
def launch(tool_id: int):
    """Legacy Launch URL: verify the OAuth 1.0a launch, then provision, enrol and land exactly as an
    LTI 1.3 launch does (the Welcome page included)."""
    settings = lti_settings()
    form = request.form
    try:
        data = lti11.validate_launch(tool_id, form, list(form.items(multi=True)), request.query_string.decode())
    except LegacyLaunchError as error:
        return _refuse(error, settings, error.return_url if error.verified else None)
    legacy.record_consumer(data)
    if not settings["allow_frame_embedding"]:
        return _open_tool(data, settings)
    try:
        outcome = lti_launch.begin(data, settings)
    except LtiError as error:
        return _refuse(error, settings, data.return_url, **_log_fields(data))
    if isinstance(outcome, lti_launch.Prompt):
        data.log_id = launch_log.record(KIND_LAUNCH, launch_log.SUCCESS, _attempt(), **_log_fields(data)).id
        store_launch(data)
        db.session.commit()
        return redirect(url_for("provisioning.account", launch_id=data.launch_id))
    launch_log.record(KIND_LAUNCH, launch_log.SUCCESS, _attempt(), user_id=outcome.user.id, **_log_fields(data))
    enter_launched_session(outcome.user, outcome.embed_scope if outcome.embed else None,
                           frame_ancestors(settings, data))
    db.session.commit()
    return redirect(outcome.path)


def _open_tool(data: LaunchData, settings: dict):
    """Frame embedding is off: the launch continues in a new window through the same one-time
    handoff as an LTI 1.3 launch, which provisions and enrols there."""
    data.log_id = launch_log.record(KIND_LAUNCH, launch_log.SUCCESS, _attempt(), **_log_fields(data)).id
    store_launch(data, bind=False)
    token = create_handoff(data)
    db.session.commit()
    allow_framing(frame_ancestors(settings, data))
    return render_template("launch/open_tool.html", title="Open tool", handoff_url=url_for("launch.handoff",
                                                                                           token=token))


@bp.get("/lti/v1/cartridge/<int:tool_id>/<token>.xml")
def cartridge(tool_id: int, token: str):
    """The IMS basic LTI link XML an LMS reads to set the resource up by URL."""
    try:
        resource = resource_by_token(tool_id, token)
    except LegacyLaunchError as error:
        return _failed(error.message, error.status, "The cartridge is not available")
    return Response(cartridge_xml(legacy.cartridge_values(resource)), content_type=CONTENT_TYPE)


@bp.post("/lti/v2/register/<int:tool_id>/<token>")
@csrf.exempt
def register(tool_id: int, token: str):
    """LTI 2.0 ToolProxyRegistrationRequest: offer the consumer a tool proxy, keep its GUID and our secret."""
    try:
        resource = resource_by_token(tool_id, token)
        registration_request = lti2_registration.parse_request(request.form)
    except (LegacyLaunchError, InvalidRegistrationRequest) as error:
        status = error.status if isinstance(error, LegacyLaunchError) else 400
        return _failed(error.message, status, REGISTRATION_FAILED)
    try:
        registered = lti2_registration.register(
            legacy.tool_description(resource), registration_request.profile_url, registration_request.reg_key,
            registration_request.reg_password)
    except RegistrationError as error:
        cause = f"{error.message} {error.detail}".strip()
        launch_log.record(KIND_REGISTRATION, launch_log.FAILED, _attempt(), resource_id=resource.id,
                          error=LtiError(error.message, 400, "lti2_registration", cause,
                                         "Check the LMS's tool consumer profile and LTI 2 settings, then register "
                                         "again with the resource's Registration URL."))
        db.session.commit()
        continue_url = with_params(registration_request.return_url,
                                   {"status": "failure", "lti_errormsg": error.message})
        return render_template("legacy/registration_result.html", title=REGISTRATION_FAILED, success=False,
                               message=error.message, continue_url=continue_url), 400
    legacy.save_registered_consumer(resource, registered)
    launch_log.record(KIND_REGISTRATION, launch_log.SUCCESS, _attempt(), resource_id=resource.id,
                      consumer_key=registered.tool_proxy_guid, message_type=lti2_registration.REGISTRATION_MESSAGE_TYPE)
    db.session.commit()
    continue_url = with_params(registration_request.return_url, {
        "lti_msg": "Successful registration", "status": "success", "tool_proxy_guid": registered.tool_proxy_guid})
    return render_template("legacy/registration_result.html", title="Successful registration", success=True,
                           continue_url=continue_url)


@bp.get("/admin/lti/consumers")
@admin_required
def consumers():
    """Legacy consumers seen: key, name, GUID, version, the resources each uses, last access."""
    title = "Legacy consumers"
    breadcrumbs = [("Site administration", url_for("admin_users.site_admin")),
                   ("Publish as LTI tool", url_for("admin_users.site_admin", _anchor="publish-as-lti-tool")),
                   (title, None)]
    return render_template("legacy/consumers.html", title=title, breadcrumbs=breadcrumbs, lti_nav_active=title,
                           consumers=legacy.consumers_overview())
