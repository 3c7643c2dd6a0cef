"""The tool's public LTI endpoints for registration: our keyset, dynamic registration and Canvas's
configuration by URL."""
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, render_template, request

from app.extensions import db
from app.lti import keys
from app.lti.registration import is_http_url
from app.security import allow_framing
from app.services.errors import NotFound
from app.services.launch import log as launch_log
from app.services.platforms import canvas, dynamic_registration
from app.services.platforms.dynamic_registration import DynamicRegistrationFailed
from app.web import launch_pages

bp = Blueprint("dynreg", __name__)


@bp.get("/lti/jwks")
def jwks():
    """Public halves of the Next, Current and (within the grace period) Previous keys."""
    body = keys.jwks()
    db.session.commit()  # the first request creates the keys
    response = jsonify(body)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/lti/canvas/<login_id>.json")
def canvas_configuration(login_id: str):
    """What a Canvas admin's "Enter URL" loads when creating an LTI 1.3 developer key."""
    try:
        body = canvas.json_configuration(login_id)
    except NotFound as error:
        return jsonify({"error": error.message}), 404
    return jsonify(body)


def _allow_platform_window(openid_configuration: str | None) -> None:
    """The platform shows this page in its own iframe; its origin is that of its configuration URL."""
    if is_http_url(openid_configuration):
        parts = urlsplit(openid_configuration)
        allow_framing([f"{parts.scheme}://{parts.netloc}"])


@bp.get("/lti/register")
def register():
    """Opened by the platform with `openid_configuration` (+ optional `registration_token`); no login needed,
    the single-use token in the URL is the secret."""
    openid_configuration = request.args.get("openid_configuration")
    _allow_platform_window(openid_configuration)
    attempt = launch_pages.attempt()
    try:
        registration, deployment = dynamic_registration.complete_dynamic_registration(
            request.args.get("token"), openid_configuration, request.args.get("registration_token"))
    except DynamicRegistrationFailed as error:
        db.session.rollback()  # the draft and its token stay exactly as they were
        launch_log.dynamic_registration(attempt, error.registration_id, failure=error)
        db.session.commit()
        return render_template("dynreg/error.html", title="Dynamic registration failed", message=error.message,
                               platform_response=error.platform_response), error.status
    launch_log.dynamic_registration(attempt, registration.id, deployment=deployment)
    db.session.commit()
    return render_template("dynreg/complete.html", title="Registration complete")
