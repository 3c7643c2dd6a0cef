"""Tool keys: the JWKS endpoint, rotation with a grace period, the admin page and the CLI.

Tokens are verified with PyJWT's PyJWK built from what /lti/jwks served, not with our own key objects.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import jwt
import pytest

from app.lti import keys
from app.lti.service_token import client_assertion
from app.models import ToolKey
from app.models.base import utcnow
from app.services.platforms.settings import save_lti_settings
from tests.factories import make_registration
from tests.helpers import login, post_form

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def served_jwks(client) -> dict:
    response = client.get("/lti/jwks")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    body = response.get_data(as_text=True)
    assert "PRIVATE" not in body
    return json.loads(body)


def verify(token: str, jwks: dict, audience: str) -> dict:
    """Find the key by kid in the served keyset and verify with PyJWT alone."""
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [key for key in jwks["keys"] if key["kid"] == kid]
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=audience)


def test_jwks_shape_and_no_private_parts(client, db, caplog):
    caplog.set_level(logging.DEBUG)
    jwks = served_jwks(client)

    assert set(jwks) == {"keys"}
    assert len(jwks["keys"]) == 2  # Current and Next, created with the database
    for key in jwks["keys"]:
        assert set(key) == {"kty", "alg", "use", "kid", "n", "e"}
        assert (key["kty"], key["alg"], key["use"], key["e"]) == ("RSA", "RS256", "sig", "AQAB")
        assert re.fullmatch(r"[0-9a-f]{32}", key["kid"])
        assert not PRIVATE_MEMBERS & set(key)
        assert jwt.PyJWK(key).key.key_size == 2048
    states = {key.kid: key.state for key in db.session.query(ToolKey)}
    assert sorted(states[key["kid"]] for key in jwks["keys"]) == ["current", "next"]
    assert "PRIVATE KEY" not in caplog.text


def test_token_signed_with_current_key_verifies_against_jwks(client, db):
    registration = make_registration()
    jwks = served_jwks(client)
    token = client_assertion(registration)
    assert jwt.get_unverified_header(token)["kid"] == keys.current_key().kid
    claims = verify(token, jwks, registration.access_token_url)
    assert claims["iss"] == claims["sub"] == registration.client_id


def test_rotation_signs_with_former_next_and_keeps_previous_published(client, db):
    registration = make_registration()
    before = served_jwks(client)
    old_token = client_assertion(registration)
    old_current = keys.current_key().kid
    old_next = db.session.execute(db.select(ToolKey).where(ToolKey.state == "next")).scalar_one().kid
    db.session.commit()

    new_current = keys.rotate(grace_days=14)
    db.session.commit()

    assert new_current.kid == old_next
    after = served_jwks(client)
    assert {key["kid"] for key in before["keys"]} < {key["kid"] for key in after["keys"]}
    assert len(after["keys"]) == 3
    verify(old_token, after, registration.access_token_url)  # platforms holding the old key keep working
    new_token = client_assertion(registration)
    assert jwt.get_unverified_header(new_token)["kid"] == old_next
    verify(new_token, after, registration.access_token_url)
    previous = db.session.execute(db.select(ToolKey).where(ToolKey.kid == old_current)).scalar_one()
    assert previous.state == "previous"
    assert abs(previous.retire_after - (utcnow() + timedelta(days=14))) < timedelta(minutes=1)


def test_previous_key_disappears_after_grace_period(client, db):
    served_jwks(client)
    old_current = keys.current_key().kid
    keys.rotate(grace_days=1)
    previous = db.session.execute(db.select(ToolKey).where(ToolKey.kid == old_current)).scalar_one()
    previous.retire_after = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert old_current not in {key["kid"] for key in served_jwks(client)["keys"]}
    assert keys.retire_expired() == 1
    assert previous.state == "retired"


# Admin page -----------------------------------------------------------------------------------------------

def test_keys_page(client, db, admin):
    save_lti_settings({"key_rotation_grace_days": 7})
    db.session.commit()
    login(client, "admin")
    page = client.get("/admin/lti/keys").get_data(as_text=True)

    assert "<h1>Tool keys</h1>" in page
    assert ('<th scope="col">Key ID (kid)</th><th scope="col">State</th><th scope="col">Created</th>'
            '<th scope="col">Activated</th><th scope="col">Retires</th><th scope="col">Published in JWKS</th>') in page
    rows = {key.kid: key for key in db.session.query(ToolKey)}
    assert len(rows) == 2
    for kid in rows:
        assert f"<code>{kid}</code>" in page
    assert '<span class="badge badge-success">Current</span>' in page
    assert '<span class="badge badge-info">Next</span>' in page
    assert page.count("<td>Yes</td>") == 2
    assert ('data-confirm="Rotating makes the next key current for signing. The current key stays published for 7 days '
            'so platforms that cached it keep working. Continue?"') in page
    assert ">Rotate keys</button>" in page
    assert "PRIVATE" not in page


def test_rotate_button(client, db, admin):
    login(client, "admin")
    client.get("/admin/lti/keys")
    db.session.expire_all()
    next_kid = db.session.execute(db.select(ToolKey).where(ToolKey.state == "next")).scalar_one().kid

    response = post_form(client, "/admin/lti/keys/rotate", token_from="/admin/lti/keys")

    assert response.headers["Location"] == "/admin/lti/keys"
    page = client.get("/admin/lti/keys").get_data(as_text=True)
    assert f"Keys rotated. New signing key: {next_kid}." in page
    assert '<span class="badge badge-warning">Previous</span>' in page
    assert page.count("<td>Yes</td>") == 3
    db.session.expire_all()
    assert keys.current_key().kid == next_kid


def test_retired_keys_are_listed_but_not_published(client, db, admin):
    served_jwks(client)
    retired_kid = keys.current_key().kid
    keys.rotate(grace_days=1)
    key = db.session.execute(db.select(ToolKey).where(ToolKey.kid == retired_kid)).scalar_one()
    key.retire_after = utcnow() - timedelta(seconds=1)
    keys.retire_expired()
    db.session.commit()
    login(client, "admin")
    page = client.get("/admin/lti/keys").get_data(as_text=True)
    assert re.search(rf'<tr class="dimmed">\s*<th scope="row"><code>{retired_kid}</code></th>\s*'
                     r'<td><span class="badge badge-muted">Retired</span></td>(.|\n)*?<td>No</td>', page)


# CLI ------------------------------------------------------------------------------------------------------

def test_cli_keys_list_and_rotate(runner, db):
    listed = runner.invoke(args=["lti", "keys", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert sorted(row["state"] for row in rows) == ["Current", "Next"]
    assert all(row["published_in_jwks"] for row in rows)
    assert "PRIVATE" not in listed.output and "private" not in listed.output
    next_kid = next(row["kid"] for row in rows if row["state"] == "Next")

    rotated = runner.invoke(args=["lti", "keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert rotated.output.strip() == f"Keys rotated. New signing key: {next_kid}."
    rows = json.loads(runner.invoke(args=["lti", "keys", "list", "--json"]).output)
    assert {row["state"] for row in rows} == {"Next", "Current", "Previous"}
    assert next((row for row in rows if row["kid"] == next_kid))["state"] == "Current"


@pytest.mark.parametrize("grace", [3, 30])
def test_cli_rotate_uses_the_grace_setting(runner, db, grace):
    save_lti_settings({"key_rotation_grace_days": grace})
    db.session.commit()
    result = runner.invoke(args=["lti", "keys", "rotate", "--json"])
    assert json.loads(result.output)["grace_days"] == grace
    db.session.expire_all()
    previous = db.session.execute(db.select(ToolKey).where(ToolKey.state == "previous")).scalar_one()
    assert abs(previous.retire_after - (utcnow() + timedelta(days=grace))) < timedelta(minutes=1)


def test_serving_never_creates_keys(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, tool_keys=False)
    with app.app_context():
        assert app.test_client().get("/lti/jwks").get_json() == {"keys": []}
        assert db_count(ToolKey) == 0
        with pytest.raises(keys.MissingKeys, match="flask --app wsgi db upgrade"):
            client_assertion(make_registration())


def db_count(model) -> int:
    from app.extensions import db

    return db.session.query(model).count()


def test_concurrent_creators_leave_one_current_and_one_next_and_none_fails(tmp_path):
    """Both creators pass the "is it missing?" check before either inserts: the database settles it."""
    import threading

    from app.extensions import db
    from tests.conftest import make_app

    app = make_app(tmp_path, tool_keys=False)
    both_checked = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []
    first = threading.local()

    def slow_key():
        if not getattr(first, "done", False):  # only before the first insert: later ones wait on its lock
            first.done = True
            both_checked.wait()
        return keys.new_private_key()

    def create() -> None:
        with app.app_context():
            try:
                keys.ensure_keys(generate=slow_key)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with app.app_context():
        assert sorted(key.state for key in db.session.query(ToolKey)) == ["current", "next"]
        db.engine.dispose()
