"""What a launch POST reads: its registration and deployment once each, by the validation, whose Active rows
the rest of the launch uses; a launch resumed later reads them again."""
from __future__ import annotations

import html
import re
from typing import Iterator

import pytest
import requests
from sqlalchemy import event

from app.extensions import db
from app.models import PlatformRegistration
from app.models.platforms import STATUS_PENDING
from tests import factories
from tests.e2e.lti_launcher import INSTRUCTOR, LaunchPlatform, LinkSpec
from tests.e2e.platform_server import PlatformServer
from tests.postgres import SQLITE_ONLY

BASE = "http://127.0.0.1:5000"
_FORM_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


@pytest.fixture
def platform(app) -> Iterator[LaunchPlatform]:
    with PlatformServer() as server:
        launch_platform = LaunchPlatform(server, BASE)
        factories.make_registration("Test LMS", issuer=server.issuer, client_id=server.client_id,
                                    auth_request_url=launch_platform.auth_url, jwks_url=launch_platform.jwks_url)
        yield launch_platform


def _launch_form(client, platform: LaunchPlatform, resource_uuid: str, **link) -> dict[str, str]:
    hint = platform.add_link(LinkSpec(sub="learner-1", resource_uuid=resource_uuid, **link))
    login = client.get("/lti/login", query_string={
        "iss": platform.issuer, "login_hint": "learner-1", "target_link_uri": f"{BASE}/lti/launch",
        "lti_message_hint": hint, "client_id": platform.client_id})
    auth = requests.get(login.headers["Location"], timeout=10)
    return {name: html.unescape(value) for name, value in _FORM_INPUT.findall(auth.text)}


@SQLITE_ONLY
def test_a_launch_post_reads_its_registration_and_deployment_once(client, platform):
    course = factories.make_course("HIS1", "History")
    activity = factories.make_activity(course, "page", "Intro", content_html="<p>Read me</p>")
    form = _launch_form(client, platform, factories.make_resource(course, activity).uuid)
    seen: list[str] = []  # as SQLite runs them (driver-level statements bypass SQLAlchemy's events)
    event.listen(db.engine, "checkout", lambda connection, *_: connection.set_trace_callback(seen.append))
    launched = client.post("/lti/launch", data=form)
    assert launched.status_code == 302, launched.get_data(as_text=True)
    deployment_reads = [statement for statement in seen if statement.startswith("SELECT") and (
        "FROM deployment" in statement or "JOIN deployment" in statement)]
    assert len(deployment_reads) == 1, deployment_reads


def test_a_resumed_launch_reads_its_registration_again(client, platform):
    """The Welcome page resumes a launch validated by an earlier request: a registration that stopped being
    Active meanwhile refuses it."""
    form = _launch_form(client, platform, factories.make_resource(factories.make_course("HIS1", "History")).uuid,
                        roles=INSTRUCTOR)
    welcome = client.post("/lti/launch", data=form)
    assert welcome.status_code == 302 and "/lti/account/" in welcome.headers["Location"]
    launch_id = welcome.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    db.session.execute(db.update(PlatformRegistration).values(status=STATUS_PENDING))
    db.session.commit()
    resumed = client.get(f"/lti/launch/{launch_id}")
    assert resumed.status_code == 401
    assert "platform registration could not be found" in resumed.get_data(as_text=True)
