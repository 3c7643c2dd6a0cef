"""`flask --app wsgi lti launches list [--failed] [--limit N] [--json]`: the launch log."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from app.extensions import db
from app.lti.errors import launch_error
from app.models import LaunchLog
from app.services.launch import log as launch_log
from app.services.launch.log import Attempt
from tests import factories

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
KID_CAUSE = "The token's signing key k9 was not in the platform keyset at https://moodle.example/jwks."
KID_FIX = "Check the Public keyset URL of registration 'Moodle school'; use Test connection."
FIELDS = {"id", "time", "kind", "outcome", "registration", "deployment_id", "user", "resource", "cause",
          "check_code", "fix"}


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _scene():
    """Four attempts, one minute apart: legacy success (newest), 1.3 failure, 1.3 success, login failure (oldest)."""
    registration = factories.make_registration("Moodle school", issuer="https://moodle.example", client_id="c-1")
    student = factories.make_user("stud")
    course = factories.make_course("BIO1", "Biology")
    resource = factories.make_resource(course)
    legacy = factories.make_resource(course, legacy=True, name="Old biology")
    attempt = Attempt(user_agent="Mozilla/5.0 TestBrowser", ip="10.0.0.9")
    login_failed = launch_log.record_failure(launch_log.KIND_LOGIN, launch_error(
        "registration_not_found", iss="https://unknown.example", client_id="zz",
        detail="No registration uses this issuer."), attempt)
    ok = launch_log.record(launch_log.KIND_LAUNCH, launch_log.SUCCESS, attempt, registration=registration,
                           user_id=student.id, resource_id=resource.id, deployment_id="dep-1", subject="sub-ok")
    failed = launch_log.record_failure(launch_log.KIND_LAUNCH, launch_error(
        "kid_unknown", kid="k9", jwks_url="https://moodle.example/jwks", name="Moodle school", detail=".",
        registration=registration, iss="https://moodle.example", subject="sub-bad"), attempt)
    legacy_ok = launch_log.record("LTI 1.1 launch", launch_log.SUCCESS, attempt, resource_id=legacy.id,
                                  consumer_key="school-key", subject="legacy-user-7")
    rows = (legacy_ok, failed, ok, login_failed)
    for minutes, row in enumerate(rows):
        db.session.get(LaunchLog, row.id).at = NOW - timedelta(minutes=minutes)
    db.session.commit()
    return [row.id for row in rows], legacy


def test_an_empty_log(app, runner):
    result = runner.invoke(args=["lti", "launches", "list"])
    assert result.exit_code == 0, result.output
    assert result.output == "No launch attempts.\n"
    assert runner.invoke(args=["lti", "launches", "list", "--failed"]).output == "No failed launch attempts.\n"
    assert _json(runner.invoke(args=["lti", "launches", "list", "--json"])) == []


def test_newest_first_with_the_screens_columns_and_labels(app, runner):
    ids, legacy = _scene()
    result = runner.invoke(args=["lti", "launches", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 5
    assert lines[0].split("  ")[0] == "Time"
    for header in ("Kind", "Outcome", "Registration / consumer key", "Deployment ID", "User", "Resource", "Cause"):
        assert header in lines[0]
    assert lines[1].startswith("02 March 2026, 09:30 UTC  LTI 1.1 launch")
    assert "Success" in lines[1] and "school-key" in lines[1] and "legacy-user-7" in lines[1]
    assert "Old biology" in lines[1]
    assert lines[2].startswith("02 March 2026, 09:29 UTC  LTI 1.3 launch")
    assert "Failed" in lines[2] and "Moodle school" in lines[2] and lines[2].endswith(KID_CAUSE)
    assert lines[3].startswith("02 March 2026, 09:28 UTC  LTI 1.3 launch")
    assert "Moodle school" in lines[3] and "dep-1" in lines[3] and "stud" in lines[3] and "Biology" in lines[3]
    assert lines[4].startswith("02 March 2026, 09:27 UTC  LTI 1.3 login")
    assert "https://unknown.example" in lines[4]
    # Columns line up: each column starts at the same offset on every line.
    outcome_at = lines[0].index("Outcome")
    assert [line[outcome_at:outcome_at + 7] for line in lines[1:]] == ["Success", "Failed ", "Success", "Failed "]
    # Identifiers only: never the legacy secret, the browser or the address.
    assert legacy.secret not in result.output
    assert "TestBrowser" not in result.output and "10.0.0.9" not in result.output

    data = _json(runner.invoke(args=["lti", "launches", "list", "--json"]))
    assert [row["id"] for row in data] == ids


def test_limit_keeps_the_newest(app, runner):
    ids, _legacy = _scene()
    assert [row["id"] for row in _json(runner.invoke(args=["lti", "launches", "list", "--limit", "2", "--json"]))] \
        == ids[:2]
    text = runner.invoke(args=["lti", "launches", "list", "--limit", "1"])
    assert text.exit_code == 0
    assert len(text.output.splitlines()) == 2 and "LTI 1.1 launch" in text.output.splitlines()[1]


def test_default_limit_is_fifty(app, runner):
    attempt = Attempt()
    for _ in range(52):
        launch_log.record(launch_log.KIND_LOGIN, launch_log.SUCCESS, attempt, issuer="https://lms.example")
    db.session.commit()
    data = _json(runner.invoke(args=["lti", "launches", "list", "--json"]))
    assert len(data) == 50
    assert data[0]["id"] == 52 and data[-1]["id"] == 3


def test_failed_shows_only_failures(app, runner):
    ids, _legacy = _scene()
    data = _json(runner.invoke(args=["lti", "launches", "list", "--failed", "--json"]))
    assert [row["id"] for row in data] == [ids[1], ids[3]]
    assert {row["outcome"] for row in data} == {"Failed"}
    text = runner.invoke(args=["lti", "launches", "list", "--failed", "--limit", "1"]).output.splitlines()
    assert len(text) == 2 and KID_CAUSE in text[1]


def test_json_shape(app, runner):
    ids, legacy = _scene()
    output = runner.invoke(args=["lti", "launches", "list", "--json"]).output
    data = json.loads(output)
    assert all(set(row) == FIELDS for row in data)
    assert data[1] == {
        "id": ids[1], "time": "2026-03-02T09:29:00+00:00", "kind": "LTI 1.3 launch", "outcome": "Failed",
        "registration": "Moodle school", "deployment_id": None, "user": "sub-bad", "resource": None,
        "cause": KID_CAUSE, "check_code": "kid_unknown", "fix": KID_FIX}
    assert data[0]["registration"] == "school-key" and data[0]["resource"] == "Old biology"
    assert data[0]["user"] == "legacy-user-7" and data[0]["outcome"] == "Success"
    assert (data[2]["user"], data[2]["resource"], data[2]["deployment_id"]) == ("stud", "Biology", "dep-1")
    assert (data[2]["cause"], data[2]["check_code"], data[2]["fix"]) == (None, None, None)
    assert data[3]["registration"] == "https://unknown.example"
    assert data[3]["check_code"] == "registration_not_found"
    assert legacy.secret not in output and "TestBrowser" not in output


def test_an_invalid_limit_is_refused(app, runner):
    _scene()
    for value in ("0", "-3", "ten", "2.5", ""):
        result = runner.invoke(args=["lti", "launches", "list", "--limit", value])
        assert result.exit_code == 1, value
        assert result.output == "Error: The limit must be a positive whole number.\n"
        data = runner.invoke(args=["lti", "launches", "list", "--limit", value, "--json"])
        assert data.exit_code == 1
        assert json.loads(data.output) == {"error": "The limit must be a positive whole number.",
                                           "errors": {"limit": "The limit must be a positive whole number."}}
