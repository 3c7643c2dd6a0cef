"""`flask --app wsgi check`: a sound production setup passes; each broken part is found and its fix named."""
from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text, update

from app import create_app
from app.extensions import db
from app.jobs import sweeps
from app.lti import keys
from app.models import ScheduledRun, ToolKey
from app.models.base import utcnow
from app.services.operations.schema import head_revision
from app.services.platforms import registrations as platforms
from tests import factories
from tests.conftest import make_app
from tests.helpers import free_port

PRODUCTION = {"COURSEPORT_BASE_URL": "https://lti.school.example", "PROXY_FIX": True}


def _installation(tmp_path, **config):
    """A migrated database with its signing keys and a live worker, configured as in production."""
    app = make_app(tmp_path, **{**PRODUCTION, "SECRET_KEY": secrets.token_hex(32), **config})
    with app.app_context():
        with db.engine.begin() as connection:
            MigrationContext.configure(connection).stamp(ScriptDirectory(app.extensions["migrate"].directory),
                                                         "head")
        keys.ensure_keys()
        sweeps.heartbeat()
        db.session.commit()
    return app


@pytest.fixture
def installation(tmp_path):
    app = _installation(tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _check(app) -> tuple[int, dict[str, list[dict]]]:
    result = app.test_cli_runner().invoke(args=["check", "--json"])
    body = json.loads(result.output)
    by_name: dict[str, list[dict]] = {}
    for finding in body["checks"]:
        by_name.setdefault(finding["check"], []).append(finding)
    assert body["ok"] == (result.exit_code == 0)
    return result.exit_code, by_name


def _problems(findings: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {name: [f for f in found if not f["ok"]] for name, found in findings.items()
            if any(not f["ok"] for f in found)}


def test_a_sound_production_setup_passes_every_check(installation):
    code, findings = _check(installation)
    assert (code, _problems(findings)) == (0, {})
    assert list(findings) == ["base_url", "proxy", "secret_key", "database", "signing_keys", "worker",
                              "registrations"]
    text_output = installation.test_cli_runner().invoke(args=["check"]).output
    assert "ok       database: The database sqlite:///" in text_output and "No problems found." in text_output


@pytest.mark.parametrize("base_url, found", [
    ("http://lti.school.example", "COURSEPORT_BASE_URL is http://lti.school.example: platforms and browsers"),
    ("https://127.0.0.1:8443", "COURSEPORT_BASE_URL is https://127.0.0.1:8443: platforms cannot reach a loopback"),
])
def test_a_base_url_platforms_cannot_use_is_found(tmp_path, base_url, found):
    app = _installation(tmp_path, COURSEPORT_BASE_URL=base_url)
    with app.app_context():
        code, findings = _check(app)
        db.engine.dispose()
    [problem] = _problems(findings)["base_url"]
    assert code == 1 and problem["message"].startswith(found)
    assert problem["fix"] == "Set COURSEPORT_BASE_URL to the public https:// address of the TLS reverse proxy."
    assert list(_problems(findings)) == ["base_url"]


def test_proxy_headers_that_are_not_trusted_are_found(tmp_path):
    app = _installation(tmp_path, PROXY_FIX=False)
    with app.app_context():
        code, findings = _check(app)
        db.engine.dispose()
    assert code == 1 and list(_problems(findings)) == ["proxy"]
    assert _problems(findings)["proxy"][0]["fix"].startswith("Set COURSEPORT_PROXY_FIX=1 and have the proxy send "
                                                             "X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host")


def test_a_weak_secret_key_and_a_generated_one_others_can_read_are_found(tmp_path):
    app = _installation(tmp_path / "weak", SECRET_KEY="changeme-changeme-changeme-changeme")
    with app.app_context():
        code, findings = _check(app)
        db.engine.dispose()
    [problem] = _problems(findings)["secret_key"]
    assert code == 1 and problem["message"].startswith("The secret key is weak (35 characters, 8 different)")
    assert problem["fix"].startswith("Set COURSEPORT_SECRET_KEY to a random value")

    app = _installation(tmp_path / "generated", SECRET_KEY=None)  # generated into the instance folder
    key_file = tmp_path / "generated" / "instance" / "secret_key"
    with app.app_context():
        code, findings = _check(app)
        assert (code, findings["secret_key"][0]["message"]) == (
            0, f"The secret key is generated in {key_file} (copy it to every app server).")
        os.chmod(key_file, 0o644)
        code, findings = _check(app)
        db.engine.dispose()
    assert code == 1 and _problems(findings)["secret_key"] == [{
        "check": "secret_key", "ok": False, "message": f"{key_file} can be read by other users of this machine.",
        "fix": f"chmod 600 {key_file}"}]


def test_a_database_that_cannot_be_reached_is_found_and_the_checks_that_need_it_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEPORT_INSTANCE_PATH", str(tmp_path / "instance"))
    broken = create_app({**PRODUCTION, "TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                         "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://courseport@127.0.0.1:{free_port()}/cp"})
    with broken.app_context():
        code, findings = _check(broken)
    problems = _problems(findings)
    assert code == 1 and list(problems) == ["database", "signing_keys", "worker", "registrations"]
    assert problems["database"][0]["message"].startswith("Cannot connect to the database postgresql+psycopg://")
    assert problems["database"][0]["fix"] == ("Check DATABASE_URL and that the database server is running and "
                                              "accepts this user.")
    assert problems["worker"][0]["message"] == "Not checked: the database is not usable."


def test_a_database_behind_the_code_is_found(installation):
    db.session.execute(text("UPDATE alembic_version SET version_num = 'older_0001'"))
    db.session.commit()
    code, findings = _check(installation)
    [problem] = _problems(findings)["database"]
    assert code == 1 and problem["message"].endswith("is at revision older_0001; this version of Courseport needs "
                                                     f"{head_revision()}.")
    assert problem["fix"] == "Run `flask --app wsgi db upgrade`, then restart the web and worker processes."


def test_missing_signing_keys_are_found(installation):
    db.session.execute(db.delete(ToolKey))
    db.session.commit()
    code, findings = _check(installation)
    assert code == 1 and _problems(findings)["signing_keys"] == [{
        "check": "signing_keys", "ok": False,
        "message": "No current or next signing key: launches and grade sync cannot sign anything yet.",
        "fix": "Run `flask --app wsgi lti keys ensure` (it creates them)."}]
    assert installation.test_cli_runner().invoke(args=["lti", "keys", "ensure"]).exit_code == 0
    assert "signing_keys" not in _problems(_check(installation)[1])


def test_a_worker_that_stopped_is_found(installation):
    db.session.execute(update(ScheduledRun).values(heartbeat_at=utcnow() - timedelta(minutes=12)))
    db.session.commit()
    code, findings = _check(installation)
    [problem] = _problems(findings)["worker"]
    assert code == 1 and problem["message"].startswith("No worker heartbeat for 12 minutes or more")
    assert problem["fix"].startswith("Start the worker (`flask --app wsgi lti worker`")


def test_a_registration_whose_last_test_connection_failed_is_found(installation):
    port = free_port()  # nothing listens there
    registration = factories.make_registration("Moodle", jwks_url=f"http://127.0.0.1:{port}/jwks",
                                               access_token_url=f"http://127.0.0.1:{port}/token")
    factories.make_registration("Canvas", issuer="https://canvas.example")  # never tested: not a problem
    platforms.run_connection_test(registration)
    db.session.commit()
    code, findings = _check(installation)
    [problem] = _problems(findings)["registrations"]
    assert code == 1
    assert problem["message"].startswith(f"The last Test connection of registration 'Moodle' (id {registration.id}, ")
    assert "Fetch the platform's public keyset: Failed — " in problem["message"]
    assert problem["fix"] == ("Correct its platform details, then run "
                              f"`flask --app wsgi lti registrations test {registration.id}`.")
