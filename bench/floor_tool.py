"""The benchmark's floors: tools that answer each step of a launch without checking anything.

Both redirect the login to the platform with fixed state and nonce, accept any launch POST and serve a constant
landing page: no pylti1p3, no signature check, no database. Never tools to deploy: they accept every launch.

- `app`, plain WSGI: what gunicorn, the client and the platform cost on this machine before any tool does any work.
- `flask_app`, the same answers through Flask, with the session cookie any tool that signs its user in must set
  at launch and read on the landing page: the least a Flask tool can spend.

bench/launch.py reports both next to the two real tools.

Configured by environment (bench/launch.py starts them under gunicorn): FLOOR_AUTH_URL, FLOOR_SECRET_KEY.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable
from urllib.parse import parse_qsl, urlencode

from flask import Flask, redirect, request, session

LANDING = b"<!doctype html><title>Floor</title><p>Welcome, whoever you are.</p>"


def _login_redirect(query: str) -> str:
    params = dict(parse_qsl(query))
    return os.environ["FLOOR_AUTH_URL"] + "?" + urlencode({
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": params.get("client_id", ""), "redirect_uri": params.get("target_link_uri", ""),
        "login_hint": params.get("login_hint", ""), "lti_message_hint": params.get("lti_message_hint", ""),
        "state": "floor-state-0123456789", "nonce": "floor-nonce-0123456789"})


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/login":
        start_response("302 Found", [("Location", _login_redirect(environ.get("QUERY_STRING", ""))),
                                     ("Content-Length", "0")])
        return [b""]
    if path == "/launch" and environ["REQUEST_METHOD"] == "POST":
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("302 Found", [("Location", "/landing"), ("Content-Length", "0")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(LANDING)))])
    return [LANDING]


def create_flask_app() -> Flask:
    flask_app = Flask(__name__)
    flask_app.config.update(SECRET_KEY=os.environ["FLOOR_SECRET_KEY"], SESSION_COOKIE_SAMESITE="Lax")

    @flask_app.get("/login")
    def login():
        return redirect(_login_redirect(request.query_string.decode()))

    @flask_app.post("/launch")
    def launch():
        session["user"] = request.form.get("state", "")
        return redirect("/landing")

    @flask_app.get("/landing")
    def landing():
        return LANDING if "user" in session else ("", 400)

    return flask_app


flask_app = create_flask_app()
