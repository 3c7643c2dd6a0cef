"""`flask --app wsgi lti registrations|deployments …`: same rules and messages as the screens."""
from __future__ import annotations

import json
import re

import pytest

from app.models import Deployment, PlatformRegistration, RegistrationToken
from app.services.platforms import registrations as platforms
from tests.factories import make_registration

BASE = "http://127.0.0.1:5000"
MANUAL = ["--name", "Moodle", "--issuer", "https://moodle.example.org", "--client-id", "abc",
          "--auth-url", "https://moodle.example.org/auth", "--jwks-url", "https://moodle.example.org/jwks",
          "--token-url", "https://moodle.example.org/token"]


def run(runner, *args: str, code: int = 0):
    result = runner.invoke(args=["lti", *args])
    assert result.exit_code == code, result.output
    return result


def run_json(runner, *args: str, code: int = 0):
    return json.loads(run(runner, *args, "--json", code=code).output)


def test_create_prints_id_status_and_every_url(runner, db):
    data = run_json(runner, "registrations", "create", "Campus LMS")
    registration = db.session.get(PlatformRegistration, data["id"])
    token = db.session.execute(db.select(RegistrationToken)).scalar_one()
    assert (data["name"], data["status"]) == ("Campus LMS", "Pending")
    assert data["tool_urls"]["tool_url"] == f"{BASE}/lti/launch"
    assert data["tool_urls"]["initiate_login_url"] == f"{BASE}/lti/login?id={registration.login_id}"
    assert data["tool_urls"]["jwks_url"] == f"{BASE}/lti/jwks"
    assert data["tool_urls"]["deep_linking_url"] == f"{BASE}/lti/deeplink"
    assert data["tool_urls"]["canvas_json_url"] == f"{BASE}/lti/canvas/{registration.login_id}.json"
    assert data["tool_urls"]["registration_url"] == f"{BASE}/lti/register?token={token.token}"

    text = run(runner, "registrations", "create", "Second").output
    assert "status: Pending" in text and f"{BASE}/lti/register?token=" in text


def test_create_validation(runner, db):
    assert run_json(runner, "registrations", "create", " ", code=1) == {"error": "Required", "errors": {"name": "Required"}}
    assert "Error: Maximum of 255 characters" in run(runner, "registrations", "create", "x" * 256, code=1).output
    assert db.session.query(PlatformRegistration).count() == 0


def test_list_and_show(runner, db):
    assert run(runner, "registrations", "list").output.strip() == "No registered platforms"
    active = make_registration("Zeta", client_id="z", deployment_ids=("d1",))
    platforms.note_unknown_deployment(active, "held", None)
    draft = platforms.create_registration("Alpha")
    db.session.commit()

    rows = run_json(runner, "registrations", "list")
    assert [(r["name"], r["status"], r["active_deployments"], r["pending_deployments"]) for r in rows] == [
        ("Alpha", "Pending", 0, 0), ("Zeta", "Active", 1, 1)]

    shown = run_json(runner, "registrations", "show", str(active.id))
    assert (shown["issuer"], shown["client_id"], shown["status"]) == ("https://lms.example.org", "z", "Active")
    assert shown["tool_urls"]["registration_url"] is None and shown["tool_urls"]["registration_url_state"] == "complete"
    assert sorted((d["deployment_id"], d["status"]) for d in shown["deployments"]) == [
        ("d1", "Active"), ("held", "Pending approval")]
    assert f"login_id: {draft.login_id}" in run(runner, "registrations", "show", str(draft.id)).output
    assert run_json(runner, "registrations", "show", "999", code=1) == {"error": "Registration not found."}


def test_update_validates_like_the_form_and_activates(runner, db):
    registration = platforms.create_registration("Draft")
    make_registration("Other", issuer="https://moodle.example.org", client_id="taken")
    db.session.commit()
    rid = str(registration.id)

    bad = run_json(runner, "registrations", "update", rid, "--issuer", "moodle.example.org", "--jwks-url", "x", code=1)
    assert bad["errors"] == {"issuer": "Invalid URL. Have you included http:// or https://?",
                             "jwks_url": "Invalid URL. Have you included http:// or https://?",
                             "client_id": "Required", "auth_request_url": "Required", "access_token_url": "Required"}
    clash = run_json(runner, "registrations", "update", rid, *MANUAL, "--client-id", "taken", code=1)
    assert clash["errors"] == {
        "client_id": "Invalid client ID. This client ID is already registered for the platform ID provided."}
    db.session.expire_all()
    assert db.session.get(PlatformRegistration, registration.id).issuer is None

    data = run_json(runner, "registrations", "update", rid, *MANUAL)
    assert (data["status"], data["issuer"], data["client_id"]) == ("Active", "https://moodle.example.org", "abc")
    partial = run(runner, "registrations", "update", rid, "--token-audience", "https://api.example.org/token")
    assert partial.output.startswith("Platform registration updated")
    db.session.expire_all()
    stored = db.session.get(PlatformRegistration, rid)
    assert (stored.name, stored.token_audience, stored.access_token_url) == (
        "Moodle", "https://api.example.org/token", "https://moodle.example.org/token")


def test_delete_needs_yes(runner, db):
    registration = make_registration("Gone soon", deployment_ids=("d1", "d2"))
    rid = str(registration.id)
    refused = run(runner, "registrations", "delete", rid, code=1)
    assert ("Are you sure you want to delete the registration for the platform 'Gone soon'? This will also remove "
            "all tool deployments stored against this registration.") in refused.output
    assert db.session.query(Deployment).count() == 2
    assert run(runner, "registrations", "delete", rid, "--yes").output.strip() == "Platform registration deleted"
    db.session.expire_all()
    assert db.session.query(PlatformRegistration).count() == 0 and db.session.query(Deployment).count() == 0


def test_token_regenerates_and_refuses_active(runner, db):
    registration = platforms.create_registration("Draft")
    db.session.commit()
    old = db.session.execute(db.select(RegistrationToken)).scalar_one().token
    data = run_json(runner, "registrations", "token", str(registration.id))
    assert re.fullmatch(rf"{BASE}/lti/register\?token=[A-Za-z0-9_-]{{43}}", data["registration_url"])
    assert old not in data["registration_url"]
    db.session.expire_all()
    assert db.session.query(RegistrationToken).count() == 1
    active = make_registration()
    assert run_json(runner, "registrations", "token", str(active.id), code=1) == {
        "error": "This registration is complete. Dynamic registration is no longer available for it."}


def test_test_refuses_pending(runner, db):
    registration = platforms.create_registration("Draft")
    db.session.commit()
    assert run_json(runner, "registrations", "test", str(registration.id), code=1) == {
        "error": "Test connection is available once the platform details are complete."}


def test_deployments_commands(runner, db):
    registration = make_registration(deployment_ids=())
    rid = str(registration.id)
    assert run(runner, "deployments", "list", rid).output.strip() == "No tool deployments found"

    added = run_json(runner, "deployments", "add", rid, "dep-1")
    assert (added["name"], added["deployment_id"], added["status"]) == ("dep-1", "dep-1", "Active")
    assert run(runner, "deployments", "add", rid, "dep-2", "--name", "Science").output.startswith("Deployment added")
    assert run_json(runner, "deployments", "add", rid, "dep-1", code=1)["errors"] == {
        "deployment_id": "Invalid deployment ID. The deployment ID already exists for this app registration."}

    platforms.note_unknown_deployment(db.session.get(PlatformRegistration, registration.id), "held", "Maths")
    platforms.note_unknown_deployment(db.session.get(PlatformRegistration, registration.id), "noise", None)
    db.session.commit()
    rows = run_json(runner, "deployments", "list", rid)
    assert [(r["name"], r["status"]) for r in rows[:2]] == [("Science", "Active"), ("dep-1", "Active")]  # by name
    assert sorted((r["deployment_id"], r["status"], r["context_title_seen"]) for r in rows[2:]) == [
        ("held", "Pending approval", "Maths"), ("noise", "Pending approval", None)]

    assert run_json(runner, "deployments", "approve", rid, "held")["status"] == "Active"
    assert run(runner, "deployments", "ignore", rid, "noise").output.strip() == "Deployment ignored"
    assert run_json(runner, "deployments", "ignore", rid, "dep-1", code=1) == {
        "error": "This deployment is not awaiting approval."}
    assert run_json(runner, "deployments", "approve", rid, "nope", code=1) == {
        "error": "Deployment ID 'nope' is not known for this registration."}

    refused = run(runner, "deployments", "remove", rid, "dep-2", code=1)
    assert "Are you sure you want to delete deployment ID 'dep-2'?" in refused.output
    assert run(runner, "deployments", "remove", rid, "dep-2", "--yes").output.strip() == "Deployment deleted"
    db.session.expire_all()
    assert sorted((d.deployment_id, d.status, d.name) for d in db.session.query(Deployment)) == [
        ("dep-1", "active", "dep-1"), ("held", "active", "held"), ("noise", "ignored", "noise")]


@pytest.mark.parametrize("args", [["registrations", "show", "abc"], ["deployments", "list", "x"]])
def test_ids_must_be_numbers(runner, args):
    assert runner.invoke(args=["lti", *args]).exit_code == 2
