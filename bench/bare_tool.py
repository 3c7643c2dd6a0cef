"""The benchmark's baseline: a bare pylti1p3 Flask tool, written the way the library's own Flask example is.

No database. The library's defaults keep state, nonce and the launch in the Flask cookie session; the platform's
keyset is cached per process (`set_public_key_caching`), so steady-state launches never fetch it. Like
Courseport, the launch POST redirects to a landing page that reads the launch back (`from_cache`).

Configured by environment (bench/launch.py starts it under gunicorn):
BARE_ISSUER, BARE_CLIENT_ID, BARE_AUTH_URL, BARE_JWKS_URL, BARE_DEPLOYMENT_ID, BARE_SECRET_KEY.
"""
from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, abort, redirect, request, url_for
from pylti1p3.contrib.flask import FlaskCacheDataStorage, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException
from pylti1p3.tool_config import ToolConfDict

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p>Welcome, {{ name }} ({{ roles|length }} roles).</p></body></html>"""


class _ProcessCache:
    """The minimal cache interface FlaskCacheDataStorage needs, in this process's memory."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self._values.get(key)

    def set(self, key: str, value: Any, exp: int | None = None) -> None:
        self._values[key] = value


def _tool_conf() -> ToolConfDict:
    conf = ToolConfDict({os.environ["BARE_ISSUER"]: [{
        "default": True, "client_id": os.environ["BARE_CLIENT_ID"], "auth_login_url": os.environ["BARE_AUTH_URL"],
        "auth_token_url": os.environ["BARE_AUTH_URL"], "key_set_url": os.environ["BARE_JWKS_URL"],
        "key_set": None, "deployment_ids": [os.environ["BARE_DEPLOYMENT_ID"]]}]})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    conf.set_private_key(os.environ["BARE_ISSUER"], key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(),
        client_id=os.environ["BARE_CLIENT_ID"])
    return conf


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=os.environ["BARE_SECRET_KEY"], SESSION_COOKIE_SAMESITE="Lax")
    tool_conf = _tool_conf()
    key_cache = FlaskCacheDataStorage(_ProcessCache())
    landing_page = app.jinja_env.from_string(LANDING)  # compiled once, as render_template would cache it

    @app.route("/login", methods=["GET", "POST"])
    def login():
        target = request.values.get("target_link_uri")
        if not target:
            abort(400)
        return FlaskOIDCLogin(FlaskRequest(), tool_conf).redirect(target)

    @app.post("/launch")
    def launch():
        message_launch = FlaskMessageLaunch(FlaskRequest(), tool_conf)
        message_launch.set_public_key_caching(key_cache, cache_lifetime=3600)
        try:
            message_launch.get_launch_data()
        except LtiException as error:
            abort(400, str(error))
        return redirect(url_for("landing", launch_id=message_launch.get_launch_id()))

    @app.get("/landing/<launch_id>")
    def landing(launch_id: str):
        try:
            message_launch = FlaskMessageLaunch.from_cache(launch_id, FlaskRequest(), tool_conf)
        except LtiException:
            abort(400)
        data = message_launch.get_launch_data()
        return landing_page.render(title=data.get(
            "https://purl.imsglobal.org/spec/lti/claim/resource_link", {}).get("title", "Activity"),
            name=data.get("name", ""), roles=data.get("https://purl.imsglobal.org/spec/lti/claim/roles", []))

    return app


app = create_app()
