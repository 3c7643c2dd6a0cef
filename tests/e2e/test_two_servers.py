"""Two app servers behind one URL: the same installation (configuration, secret key, database) served by two
gunicorn processes behind a round-robin proxy, driven by the independent platforms of the other e2e tests.

Every flow has its requests answered by alternating servers (an OIDC login by one, its launch by the other), so
anything a server kept for itself (a session, a login state, a parsed keyset, a setting, a signing key) would
show up as a failed step. Runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Iterator

import pytest
import requests
from flask import Flask

from app.extensions import db
from tests import factories
from tests.app_process import AppProcess, environment, password_login
from tests.conftest import make_app
from tests.e2e.deep_link_platform import DeepLinkingRequest, FormBrowser, LmsPlatform, LmsUser, ResourceLinkRequest
from tests.e2e.deep_link_world import bind, build_catalogue
from tests.e2e.launch_world import build_world
from tests.e2e.lti_launcher import Browser, LaunchPlatform, LinkSpec
from tests.e2e.platform_server import PlatformServer
from tests.e2e.round_robin import RoundRobinProxy
from tests.helpers import REPO, flask_command, free_port
from tests.postgres import BOTH_DATABASES

TEACHER = LmsUser("lms-teacher-1", name="Terry Teacher")


@dataclass
class Farm:
    url: str  # the proxy's: the installation's COURSEPORT_BASE_URL
    app: Flask  # on the same database, for setting up rows and running commands
    proxy: RoundRobinProxy | None = None
    worker: subprocess.Popen | None = None  # `flask --app wsgi lti worker`, as its systemd unit runs it

    def command(self, *args: str) -> dict:
        """`flask --app wsgi ARGS --json` on the installation's database, as an admin on one of the servers runs it."""
        with self.app.app_context():
            result = self.app.test_cli_runner().invoke(args=[*args, "--json"])
            db.session.remove()
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    def pass_turn(self) -> None:
        requests.get(self.url + "/login", timeout=10)

    def get_twice(self, session: requests.Session, path: str) -> list[requests.Response]:
        """The same request answered once by each server."""
        answers = [session.get(self.url + path, allow_redirects=False, timeout=10) for _ in range(2)]
        assert sorted(self.proxy.servers_for(path)[-2:]) == [0, 1]
        return answers


@pytest.fixture
def farm(tmp_path, database_url) -> Iterator[Farm]:
    instance, port = tmp_path / "instance", free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(database_url, instance, base, COURSEPORT_PROXY_FIX="1",
                      COURSEPORT_SECRET_KEY=secrets.token_hex(32))
    upgraded = flask_command("db", "upgrade", database_url=database_url, instance=instance)
    assert upgraded.returncode == 0, upgraded.stderr
    app = make_app(tmp_path / "setup", SQLALCHEMY_DATABASE_URI=database_url, COURSEPORT_BASE_URL=base,
                   PROXY_FIX=True, SECRET_KEY=env["COURSEPORT_SECRET_KEY"])
    farm = Farm(base, app)
    farm.command("lti", "keys", "list")  # installing: the schema, then the signing keys
    servers = [AppProcess(env), AppProcess(env)]
    try:
        with open(instance / "worker.log", "wb") as log:
            farm.worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "lti", "worker"], env=env,
                                           cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        for server in servers:
            server.spawn()
        for server in servers:
            server.wait_ready()
        farm.proxy = RoundRobinProxy(port, [server.url for server in servers])
        farm.proxy.server.start()
        try:
            yield farm
        finally:
            farm.proxy.server.stop()
    finally:
        for server in servers:
            server.stop()
        if farm.worker is not None and farm.worker.poll() is None:
            farm.worker.kill()
            farm.worker.wait()
        with app.app_context():
            db.engine.dispose()


def _frame_ancestors(response: requests.Response) -> str:
    return response.headers["Content-Security-Policy"].split("frame-ancestors ", 1)[1].split(";")[0]


@BOTH_DATABASES
def test_launches_sessions_settings_and_keys_agree_on_both_servers(farm):
    with farm.app.app_context():
        factories.make_user("admin", admin=True)
    with PlatformServer() as lms:
        world = build_world(farm, LaunchPlatform(lms, farm.url))
        browser = world.browser()
        result = browser.launch(world.platform, world.link(sub="s-1"))
        assert result.launch.status_code == 302, result.launch.text
        [login_server], [launch_server] = farm.proxy.servers_for("/lti/login"), farm.proxy.servers_for("/lti/launch")
        assert login_server != launch_server  # the state the login stored is checked by the other server
        landing = farm.get_twice(browser.session, f"/activity/{world.activity_id}")
        assert [page.status_code for page in landing] == [200, 200]  # one session, valid on either server
        assert all("Cells are small." in page.text for page in landing)

        # Both servers verify a launch (and so hold the platform's parsed keyset); then the platform rotates its
        # key: one server fetches the keyset again, the other must see that in the database, not use its own copy.
        farm.pass_turn()  # a launch is two requests: this sends the next launch to the other server
        assert world.browser().launch(world.platform, world.link(sub="s-2")).launch.status_code == 302
        fetches = world.platform.jwks_fetches()
        world.platform.rotate_key()
        for sub in ("s-3", "s-4"):
            farm.pass_turn()
            assert world.browser().launch(world.platform, world.link(sub=sub)).launch.status_code == 302
        assert farm.proxy.servers_for("/lti/launch") == [launch_server, 1 - launch_server] * 2
        assert world.platform.jwks_fetches() == fetches + 1

        # A settings change made once applies on both servers at once (frame origins are fixed at launch time).
        farm.command("lti", "settings", "set", "additional_frame_ancestors", "https://portal.school.example")
        browser = world.browser()
        assert browser.launch(world.platform, world.link(sub="s-5")).launch.status_code == 302
        landing = farm.get_twice(browser.session, f"/activity/{world.activity_id}")
        assert all("https://portal.school.example" in _frame_ancestors(page) for page in landing)

    # Our key rotation: both servers publish the new keys at once.
    before = [page.json() for page in farm.get_twice(requests.Session(), "/lti/jwks")]
    assert before[0] == before[1]
    rotated = farm.command("lti", "keys", "rotate")
    after = [page.json() for page in farm.get_twice(requests.Session(), "/lti/jwks")]
    assert after[0] == after[1] and after != before
    assert rotated["kid"] in {key["kid"] for key in after[0]["keys"]}

    # A password login answered by one server; the pages after it by both.
    admin = requests.Session()
    assert password_login(admin, farm.url, "admin", "Password-123").status_code == 302
    assert [page.status_code for page in farm.get_twice(admin, "/admin/users")] == [200, 200]

    # `check` on this installation: only its plain-http loopback address is wrong (the worker beats, the keys and
    # the database are in order); the worker then stops on SIGTERM, as systemd stops it.
    with farm.app.app_context():
        checked = farm.app.test_cli_runner().invoke(args=["check", "--json"])
        db.session.remove()
    assert [finding["check"] for finding in json.loads(checked.output)["checks"] if not finding["ok"]] == ["base_url"]
    farm.worker.send_signal(signal.SIGTERM)
    assert farm.worker.wait(timeout=30) == 0


@BOTH_DATABASES
def test_deep_linking_and_dynamic_registration_across_servers(farm):
    with PlatformServer(client_id="lms-client") as server:
        with farm.app.app_context():
            catalogue = build_catalogue(issuer=server.issuer, client_id=server.client_id, platform_url=server.url)
            bind(catalogue.teacher_id, server.issuer, TEACHER.sub)
        platform = LmsPlatform(server, farm.url, catalogue.login_id)
        browser = FormBrowser()
        page = browser.open_tool(platform, TEACHER, DeepLinkingRequest(data="lms-course-77"))
        assert page.status_code == 200 and "Published content" in page.text, page.text[:500]
        answer = browser.select(page, course=[catalogue.ids["reading"]])
        assert answer.status_code == 200 and "1 item(s) added." in answer.text
        assert "The platform received 1 item(s)." in browser.submit_auto_form(answer).text
        [received] = platform.returns
        assert received.error is None  # verified against /lti/jwks, fetched through the proxy
        [item] = received.content_items
        landed = browser.open_tool(platform, TEACHER, ResourceLinkRequest("placed-1", custom=item["custom"]),
                                   target=item["url"])
        assert landed.status_code == 200 and "Read this" in landed.text
        assert {served.server for served in farm.proxy.served} == {0, 1}

    # Dynamic registration: the draft made by a command, the Registration URL opened through the proxy.
    created = farm.command("lti", "registrations", "create", "Dynamic LMS")
    with PlatformServer(client_id="dynamic-client") as dynamic:
        dynamic.tool_jwks_url = f"{farm.url}/lti/jwks"
        opened = requests.get(dynamic.registration_start_url(created["tool_urls"]["registration_url"],
                                                             registration_token="reg-1"), timeout=30)
        assert opened.status_code == 200 and "Registration complete." in opened.text
        tested = farm.command("lti", "registrations", "test", str(created["id"]))
        assert tested["ok"] is True  # the platform checked our signed request against /lti/jwks via the proxy

        launcher = LaunchPlatform(dynamic, farm.url)
        student = LinkSpec(sub="dyn-1", resource_uuid=catalogue.reading, resource_link_id="dyn-link")
        result = Browser(farm.url).launch(launcher, launcher.add_link(student))
        assert result.launch.status_code == 302, result.launch.text
        assert re.match(r"/activity/\d+$", result.launch.headers["Location"])
        assert farm.proxy.servers_for("/lti/login")[-1] != farm.proxy.servers_for("/lti/launch")[-1]
