"""The login's signed state: a login that goes on to the platform writes nothing (no statement but its
registration's read, no commit), and the launch refuses a state that was altered, has expired, belongs to another
registration or endpoint, was already used, or carries another nonce than the id_token, each with the refusal
and launch-log reason an unknown or used state always had."""
from __future__ import annotations

import base64
import html
import json
import re
import time
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from itsdangerous import TimestampSigner
from sqlalchemy import event, func, select

from app.extensions import db
from app.lti import login_state
from app.models import LaunchLog, LtiStorageEntry
from tests import factories
from tests.e2e.lti_launcher import LaunchPlatform, LinkSpec
from tests.postgres import BOTH_DATABASES
from tests.web.lti_platform import BASE, registered_platform

_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
USED = "Please make sure you have cookies enabled in this browser"


@pytest.fixture
def lms(app) -> Iterator[LaunchPlatform]:
    with registered_platform() as platform:
        yield platform


def _other_registration(lms: LaunchPlatform) -> None:
    """A second registration of the same platform (Canvas Cloud's schools share one issuer)."""
    factories.make_registration("Other", issuer=lms.issuer, client_id="other-client", auth_request_url=lms.auth_url,
                                jwks_url=lms.jwks_url)


def _login(client, lms: LaunchPlatform, *, client_id: str | None = None, target: str = "/lti/launch", **extra):
    return client.get("/lti/login", query_string={
        "iss": lms.issuer, "login_hint": "learner-1", "target_link_uri": BASE + target,
        "client_id": client_id or lms.client_id, "lti_message_hint": extra.pop("hint", "none"), **extra})


def _launch_form(client, lms: LaunchPlatform, resource_uuid: str, **login) -> dict[str, str]:
    """The login, then the platform's authentication step: the form its page would post to the tool."""
    hint = lms.add_link(LinkSpec(sub="learner-1", resource_uuid=resource_uuid, **login.pop("link", {})))
    started = _login(client, lms, hint=hint, **login)
    assert started.status_code == 302, started.get_data(as_text=True)
    auth = requests.get(started.headers["Location"], timeout=10)
    return {name: html.unescape(value) for name, value in _INPUT.findall(auth.text)}


def _resource() -> str:
    course = factories.make_course("HIS1", "History")
    return factories.make_resource(course, factories.make_activity(course, "page", "Intro")).uuid


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.execute(select(func.count(LtiStorageEntry.id))).scalar_one(),
            db.session.execute(select(func.count(LaunchLog.id))).scalar_one())


def _refused(response, check_code: str, message: str = USED) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert message in html.unescape(response.get_data(as_text=True))
    db.session.expire_all()
    row = db.session.execute(select(LaunchLog).order_by(LaunchLog.id.desc())).scalars().first()
    assert (row.kind, row.outcome, row.check_code) == ("LTI 1.3 launch", "failure", check_code)


@BOTH_DATABASES
@pytest.mark.parametrize("extra", [{}, {"lti_storage_target": "_parent"}, {"lti_new_window": "1"}],
                         ids=["cookie", "platform storage", "new window"])
def test_a_successful_login_runs_no_write_and_no_commit(client, lms, extra):
    commits: list[object] = []
    event.listen(db.engine, "commit", commits.append)
    seen: list[str] = []  # as SQLite runs them (driver-level statements bypass SQLAlchemy's events)
    if db.engine.dialect.name == "sqlite":
        event.listen(db.engine, "checkout", lambda connection, *_: connection.set_trace_callback(seen.append))
    started = _login(client, lms, **extra)
    storage = "lti_storage_target" in extra
    assert started.status_code == (200 if storage else 302)
    assert commits == []
    assert [statement for statement in seen if not statement.startswith("SELECT")] == []  # no BEGIN, no write
    # The configuration version, then the registration unless this process already holds it (the storage page
    # also reads the site's settings).
    reads = [statement for statement in seen if "FROM config_version" not in statement]
    if reads and not storage:
        assert len(reads) == 1 and "FROM platform_registration" in reads[0]
    assert _counts() == (0, 0)


def test_the_state_is_used_once_whether_or_not_its_cookie_comes_back(client, lms):
    form = _launch_form(client, lms, _resource())
    assert client.post("/lti/launch", data=form).status_code == 302
    assert _counts() == (1, 1)  # the used nonce, and the launch's row
    # The landed launch expired the state cookie; posted again without it, the state is known to be used.
    _refused(client.post("/lti/launch", data=form), "state_invalid")
    # With its cookie back, the same id_token and state lose the nonce's insert.
    client.set_cookie(f"lti1p3-{form['state']}", form["state"])
    _refused(client.post("/lti/launch", data=form), "state_invalid")
    assert _counts() == (1, 3)


def test_a_tampered_state_is_refused(client, lms):
    _other_registration(lms)
    form = _launch_form(client, lms, _resource())
    payload, timestamp, signature = form["state"][len(login_state.PREFIX):].split(".")
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    values[1:3] = [values[1] + 1, "other-client"]  # the other registration, with the signature left as it was
    forged = login_state.PREFIX + ".".join(
        [base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode(), timestamp, signature])
    client.set_cookie(f"lti1p3-{forged}", forged)
    _refused(client.post("/lti/launch", data={**form, "state": forged}), "state_invalid")
    assert _counts() == (0, 1)
    assert client.post("/lti/launch", data=form).status_code == 302  # the real state is still unused


def test_an_expired_state_is_refused(client, lms, monkeypatch):
    resource = _resource()
    with monkeypatch.context() as past:  # a login 601 seconds ago
        past.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 601)
        form = _launch_form(client, lms, resource)
    _refused(client.post("/lti/launch", data=form), "state_invalid")
    assert _counts() == (0, 1)


def test_a_state_issued_for_another_registration_is_refused(client, lms):
    """The state of a login for registration B (same issuer), posted with an id_token the platform signed for A."""
    _other_registration(lms)
    form = _launch_form(client, lms, _resource())
    other = parse_qs(urlsplit(_login(client, lms, client_id="other-client").headers["Location"]).query)["state"][0]
    assert login_state.read(other).client_id == "other-client"
    _refused(client.post("/lti/launch", data={**form, "state": other}), "registration_not_found",
             "A platform registration could not be found")
    assert _counts() == (0, 1)
    assert client.post("/lti/launch", data=form).status_code == 302


def test_a_state_for_the_launch_url_is_refused_at_the_deep_linking_url(client, lms):
    form = _launch_form(client, lms, _resource(), link={"message_type": "LtiDeepLinkingRequest"})
    response = client.post("/lti/deeplink", data=form)
    assert response.status_code == 401 and USED in html.unescape(response.get_data(as_text=True))
    assert _counts() == (0, 1)


def test_a_nonce_other_than_the_logins_is_refused(client, lms):
    form = _launch_form(client, lms, _resource(), link={"claims": {"nonce": "n" * 32}})
    _refused(client.post("/lti/launch", data=form), "nonce_invalid", "Invalid Nonce.")
    assert _counts() == (0, 1)


def test_the_storage_secret_binds_the_browser_without_cookies(client, lms):
    """At login the page keeps a secret with the platform; the launch must post the same one back."""
    page = _login(client, lms, hint=lms.add_link(LinkSpec(sub="learner-1", resource_uuid=_resource())),
                  lti_storage_target="_parent")
    config = json.loads(html.unescape(re.search(r'id="lti-storage-config">(.*?)</script>',
                                                page.get_data(as_text=True), re.S).group(1)))
    auth = requests.get(config["next"], timeout=10)
    form = {name: html.unescape(value) for name, value in _INPUT.findall(auth.text)}
    assert config["value"] not in form["state"] + parse_qs(urlsplit(config["next"]).query)["state"][0]
    client.delete_cookie(f"lti1p3-{form['state']}")
    other = login_state.storage_secret("another login's nonce")
    _refused(client.post("/lti/launch", data={**form, "lti_storage_secret": other}), "state_cookie_missing")
    assert client.post("/lti/launch", data={**form, "lti_storage_secret": config["value"]}).status_code == 302


@pytest.mark.parametrize("extra, path", [({}, "cookie"), ({"lti_new_window": "1"}, "new_window")])
def test_the_launch_row_records_the_path_its_login_took(client, lms, extra, path):
    assert client.post("/lti/launch", data=_launch_form(client, lms, _resource(), **extra)).status_code == 302
    db.session.expire_all()
    row = db.session.execute(select(LaunchLog)).scalar_one()
    assert (row.kind, row.outcome, row.cookie_method) == ("LTI 1.3 launch", "success", path)
