"""What an admin checks after installing or upgrading: each finding says what is wrong and how to fix it.

The checks read configuration and the database only; they never contact a platform (the last Test connection
of each registration is what they report).
"""
from __future__ import annotations

import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.lti import keys
from app.models import PlatformRegistration, ToolKey
from app.services.operations.schema import current_revision, head_revision
from app.services.platforms.site_address import site_address
from app.services.sync.status import worker_silence_minutes

MIN_SECRET_LENGTH = 32
MIN_SECRET_SYMBOLS = 12  # distinct characters: "aaaa…" or "changeme" repeated is long but guessable
NEW_SECRET = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_base_url() -> Finding:
    address = site_address()
    base = address.url
    if not address.https:
        return Finding("base_url", False, f"COURSEPORT_BASE_URL is {base}: platforms and browsers inside an LMS "
                       "iframe need https (session cookies are only sent there as Secure; SameSite=None).",
                       "Set COURSEPORT_BASE_URL to the public https:// address of the TLS reverse proxy.")
    if address.loopback:
        return Finding("base_url", False, f"COURSEPORT_BASE_URL is {base}: platforms cannot reach a loopback "
                       "address.", "Set COURSEPORT_BASE_URL to the public https:// address of the TLS reverse proxy.")
    return Finding("base_url", True, f"COURSEPORT_BASE_URL is {base}.")


def check_proxy() -> Finding:
    if current_app.config.get("PROXY_FIX"):
        return Finding("proxy", True, "COURSEPORT_PROXY_FIX is on: client addresses come from the proxy's "
                       "X-Forwarded-For, scheme and host from X-Forwarded-Proto and X-Forwarded-Host.")
    return Finding("proxy", False, "COURSEPORT_PROXY_FIX is off: behind a reverse proxy every request seems to come "
                   "from the proxy, so one user's failed logins lock everyone out and the launch log shows the "
                   "proxy's address.", "Set COURSEPORT_PROXY_FIX=1 and have the proxy send X-Forwarded-For, "
                   "X-Forwarded-Proto and X-Forwarded-Host (docs/deployment.md).")


def check_secret_key() -> Finding:
    key = str(current_app.config.get("SECRET_KEY") or "")
    path = Path(current_app.instance_path) / "secret_key"
    generated = path.exists() and path.read_text().strip() == key
    if len(key) < MIN_SECRET_LENGTH or len(set(key)) < MIN_SECRET_SYMBOLS:
        return Finding("secret_key", False, f"The secret key is weak ({len(key)} characters, {len(set(key))} "
                       "different): anyone who guesses it can sign in as any user.",
                       f"Set COURSEPORT_SECRET_KEY to a random value (e.g. the output of {NEW_SECRET}), the same "
                       "on every app server, and restart.")
    if generated and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Finding("secret_key", False, f"{path} can be read by other users of this machine.",
                       f"chmod 600 {path}")
    source = f"generated in {path} (copy it to every app server)" if generated else "set in the configuration"
    return Finding("secret_key", True, f"The secret key is {source}.")


def check_database() -> Finding:
    shown = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as connection:
            revision = current_revision(connection)
    except DBAPIError as error:
        return Finding("database", False, f"Cannot connect to the database {shown}: "
                       f"{str(error.orig).strip().splitlines()[0]}",
                       "Check DATABASE_URL and that the database server is running and accepts this user.")
    head = head_revision()
    if revision != head:
        found = f"at revision {revision}" if revision else "not migrated"
        return Finding("database", False, f"The database {shown} is {found}; this version of Courseport needs "
                       f"{head}.", "Run `flask --app wsgi db upgrade`, then restart the web and worker processes.")
    return Finding("database", True, f"The database {shown} is reachable and migrated to {head}.")


def check_signing_keys() -> Finding:
    states = set(db.session.execute(db.select(ToolKey.state).where(
        ToolKey.state.in_([keys.CURRENT, keys.NEXT]))).scalars())
    missing = [state for state in (keys.CURRENT, keys.NEXT) if state not in states]
    if missing:
        return Finding("signing_keys", False, f"No {' or '.join(missing)} signing key: launches and grade sync "
                       "cannot sign anything yet.", "Run `flask --app wsgi lti keys ensure` (it creates them).")
    return Finding("signing_keys", True, "A Current and a Next signing key are present.")


def check_worker() -> Finding:
    silent = worker_silence_minutes()
    if silent is not None:
        return Finding("worker", False, f"No worker heartbeat for {silent} minutes or more: grades and rosters "
                       "are not being synchronised.", "Start the worker (`flask --app wsgi lti worker`, e.g. "
                       "`systemctl start courseport-worker`) and check its log.")
    return Finding("worker", True, "The worker's heartbeat is recent.")


def check_registrations() -> list[Finding]:
    rows = db.session.execute(db.select(PlatformRegistration).where(
        PlatformRegistration.last_test.is_not(None)).order_by(PlatformRegistration.id)).scalars()
    failed = [row for row in rows if isinstance(row.last_test, dict) and row.last_test.get("ok") is False]
    if not failed:
        return [Finding("registrations", True, "No registration's last Test connection failed.")]
    return [Finding("registrations", False, f"The last Test connection of registration '{row.name}' (id {row.id}, "
                    f"{row.last_test.get('at', 'at an unknown time')}) failed: " + " ".join(
                        f"{step['name']}: {step['text']}" for step in row.last_test.get("steps", [])
                        if not step.get("ok")),
                    f"Correct its platform details, then run `flask --app wsgi lti registrations test {row.id}`.")
            for row in failed]


def _skipped(name: str) -> Finding:
    return Finding(name, False, "Not checked: the database is not usable.", "Fix the database first.")


def run_checks() -> list[Finding]:
    """Every finding, problems and passes alike, in the order an admin would fix them."""
    findings = [check_base_url(), check_proxy(), check_secret_key()]
    database = check_database()
    findings.append(database)
    later: list[tuple[str, Callable[[], Finding | list[Finding]]]] = [
        ("signing_keys", check_signing_keys), ("worker", check_worker), ("registrations", check_registrations)]
    for name, check in later:
        if not database.ok:
            findings.append(_skipped(name))
            continue
        result = check()
        findings.extend(result if isinstance(result, list) else [result])
    db.session.rollback()
    return findings
