"""Helpers shared by web, e2e and browser tests."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ROOT = Path(__file__).resolve().parent.parent


def db_upgrade(url: str, instance: Path) -> None:
    """`flask --app wsgi db upgrade` on the database at `url`, as an operator runs it."""
    env = {**os.environ, "DATABASE_URL": url, "COURSEPORT_INSTANCE_PATH": str(instance)}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The session's CSRF token, read from a page's form the way a browser would get it."""
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no csrf_token on {path} (status {response.status_code})"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None, *,
              token_from: str | None = None, **kwargs: Any):
    """POST like a browser: fetch the CSRF token from a page first (the form's own page by default)."""
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token(client, token_from or path)
    return client.post(path, data=payload, **kwargs)


def login(client: FlaskClient, username: str, password: str = "Password-123"):
    response = post_form(client, "/login", {"username": username, "password": password})
    assert response.status_code == 302, f"login as {username} failed: {response.status_code}"
    return response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _closing(app: Any) -> Any:
    """Close each response's iterable once it has been sent. The development server skips `close()` when the
    browser has already dropped the connection (it reads the leftover request body first, and that read
    fails), so a static file Chromium gave up on would stay open until the garbage collector complains."""

    def wrapped(environ: dict, start_response: Any):
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()

    return wrapped


class LiveServer:
    """Serves a Flask app on 127.0.0.1 in a background thread (threaded, like a real server)."""

    def __init__(self, app: Flask, port: int, ssl_context: Any = None) -> None:
        self.app = app
        self.port = port
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, _closing(app), threaded=True, ssl_context=ssl_context)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "LiveServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


REPO = Path(__file__).resolve().parent.parent
# What processes started by the tests add to their environment: cheap password hashes, and the test platforms'
# 127.0.0.1 addresses allowed in URLs that arrive in requests.
TEST_ENVIRONMENT = {"COURSEPORT_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1", "COURSEPORT_ALLOW_PRIVATE_ADDRESSES": "1"}


def flask_command(*args: str, database_url: str, instance: Path, **environ: str) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` in its own process, as an admin runs it on the server."""
    env = {**os.environ, **TEST_ENVIRONMENT, "DATABASE_URL": database_url, "COURSEPORT_INSTANCE_PATH": str(instance),
           **environ}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
