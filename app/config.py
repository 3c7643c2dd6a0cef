"""Configuration: defaults, then instance/config.py, then COURSEPORT_* environment, then test overrides."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from app import limits

VERSION = "0.1.0"


class DefaultConfig:
    SITE_NAME = "Courseport"
    SITE_SHORT_NAME = "courseport"
    SITE_DESCRIPTION = "Courses and activities published as LTI tools"
    # Every absolute URL shown, signed or sent is built from this, never from the Host header.
    COURSEPORT_BASE_URL = "http://127.0.0.1:5000"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None
    PROXY_FIX = False
    LOGIN_THROTTLE_USER = 5
    LOGIN_THROTTLE_IP = 20
    LOGIN_THROTTLE_MINUTES = 15
    JOBS_INLINE = False
    # URLs that arrive in requests (LTI 2 profiles, launch service URLs, dynamic registration) may lead to
    # loopback, link-local or private addresses only when this is on; URLs an admin typed may lead anywhere.
    ALLOW_PRIVATE_ADDRESSES = False
    # Any werkzeug.security method; tests choose a cheap one through configuration.
    PASSWORD_HASH_METHOD = "scrypt"
    # Werkzeug refuses larger bodies, form fields and multipart forms with 413 before a view runs.
    MAX_CONTENT_LENGTH = limits.MAX_CONTENT_LENGTH
    MAX_FORM_MEMORY_SIZE = limits.MAX_FORM_MEMORY_SIZE
    MAX_FORM_PARTS = limits.MAX_FORM_PARTS


def _secret_key(instance_path: str) -> str:
    """Read the instance secret key, generating it on first run so no deployment shares a default."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


_INTEGER_SETTINGS = {"MAX_CONTENT_LENGTH", "MAX_FORM_MEMORY_SIZE", "MAX_FORM_PARTS"}


def _env_overrides() -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if os.environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    for name, value in os.environ.items():
        if name.startswith("COURSEPORT_") and name != "COURSEPORT_INSTANCE_PATH":
            key = name if name == "COURSEPORT_BASE_URL" else name[len("COURSEPORT_"):]
            if key in {"PROXY_FIX", "JOBS_INLINE", "ALLOW_PRIVATE_ADDRESSES"}:
                overrides[key] = {"true": True, "false": False, "1": True, "0": False}.get(value.lower(), value)
            elif key in _INTEGER_SETTINGS:
                overrides[key] = int(value)
            else:
                overrides[key] = value
    return overrides


def load_config(app: Flask, test_config: Mapping[str, Any] | None = None) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(DefaultConfig)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "courseport.sqlite")
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(_env_overrides())
    if test_config:
        app.config.update(test_config)
    app.config["COURSEPORT_BASE_URL"] = app.config["COURSEPORT_BASE_URL"].rstrip("/")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    if app.config["COURSEPORT_BASE_URL"].startswith("https://"):
        # Inside an LMS iframe the session cookie is third-party: it must be SameSite=None; Secure.
        app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True,
                          SESSION_COOKIE_PARTITIONED=True, REMEMBER_COOKIE_SAMESITE="None",
                          REMEMBER_COOKIE_SECURE=True)
