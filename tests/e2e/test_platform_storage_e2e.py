"""The platform-storage path over HTTP, playing the platform's storage by hand: the login's page names the frame,
origin, key and secret; a launch POST without the state cookie gets the page that fetches it back; the re-POST
with the secret lands in a cookie-less frame session that moves from request to request by single-use token; deep
linking takes the same path through the Welcome page."""
from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urljoin, urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import LaunchLog, LtiStorageEntry
from tests.e2e.deep_link_platform import DeepLinkingRequest, FormBrowser, LmsPlatform, LmsUser, forms
from tests.e2e.deep_link_world import build_catalogue
from tests.e2e.launch_world import World, row_counts, world  # noqa: F401  (fixture)
from tests.e2e.platform_server import PlatformServer

_CONFIG = re.compile(r'<script type="application/json" id="lti-storage-config">(.*?)</script>', re.S)
_TOKEN = re.compile(r'<meta name="lti-frame-token" content="([^"]+)">')
TARGET = "post_message_forwarding"


def _config(page: str) -> dict:
    return json.loads(html.unescape(_CONFIG.search(page).group(1)))


def _stored_launch(world: World, hint: str):
    """Login with lti_storage_target, the platform's auth step, and the launch POST without the state cookie.
    Returns the browser, the stored secret (what the platform kept), the launch form and the launch page."""
    browser = world.browser()
    query = browser.login_params(world.platform, hint, lti_storage_target=TARGET)
    login = browser.get("/lti/login", params=query)
    assert login.status_code == 200
    config = _config(login.text)
    state = parse_qs(urlsplit(config["next"]).query)["state"][0]
    assert config == {"target": TARGET, "origin": world.platform.server.url, "key": f"lti_state_{state}",
                      "value": config["value"], "timeout": 2000, "next": config["next"], "fallback": "navigate"}
    assert config["next"].startswith(world.platform.auth_url + "?")
    assert login.headers["Referrer-Policy"] == "no-referrer" and login.headers["Cache-Control"] == "no-store"
    auth = browser.session.get(config["next"], timeout=10)
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', auth.text))
    form = {key: html.unescape(value) for key, value in form.items()}
    browser.session.cookies.clear()  # the frame keeps no cookie
    page = browser.post("/lti/launch", form)
    return browser, config["value"], form, page


def test_the_launch_page_fetches_the_secret_and_the_re_post_lands_without_cookies(world):
    browser, secret, form, page = _stored_launch(world, world.link(sub="stored-1"))
    assert page.status_code == 200
    assert _config(page.text) == {"target": TARGET, "origin": world.platform.server.url,
                                  "key": f"lti_state_{form['state']}", "timeout": 2000}
    assert secret not in page.text  # the page asks for it; it does not know it
    assert 'name="lti_storage_secret"' in page.text and html.escape(form["id_token"]) in page.text

    landed = browser.post("/lti/launch", {**form, "lti_storage_secret": secret})
    assert landed.status_code == 302 and "Set-Cookie" not in landed.headers
    location = urlsplit(landed.headers["Location"])
    assert location.path == f"/activity/{world.activity_id}"
    first = parse_qs(location.query)["lti_frame"][0]
    assert landed.headers["Referrer-Policy"] == "same-origin"

    activity = browser.get(landed.headers["Location"])
    assert activity.status_code == 200 and "Set-Cookie" not in activity.headers
    second = _TOKEN.search(activity.text).group(1)
    assert second != first
    again = browser.get(f"/activity/{world.activity_id}?lti_frame={second}")
    assert again.status_code == 200
    # Each token opens the session once: the first one, used again, is spent.
    spent = browser.get(f"/activity/{world.activity_id}?lti_frame={first}")
    assert spent.status_code == 401
    assert "This page has expired. Please launch the tool again from your course." in spent.text

    with world.context():
        rows = db.session.execute(select(LaunchLog).order_by(LaunchLog.id)).scalars().all()
        assert [(row.kind, row.outcome, row.cookie_method) for row in rows] == [
            ("LTI 1.3 login", "success", "storage"), ("LTI 1.3 launch", "success", "storage")]


def test_a_replayed_storage_launch_is_refused(world):
    browser, secret, form, _ = _stored_launch(world, world.link(sub="stored-2"))
    assert browser.post("/lti/launch", {**form, "lti_storage_secret": secret}).status_code == 302
    replay = browser.post("/lti/launch", {**form, "lti_storage_secret": secret})
    assert replay.status_code == 401
    assert "Please make sure you have cookies enabled" in replay.text


def test_a_wrong_secret_is_refused_and_writes_only_the_log(world):
    browser, secret, form, _ = _stored_launch(world, world.link(sub="stored-3"))
    before = row_counts(world)
    refused = browser.post("/lti/launch", {**form, "lti_storage_secret": secret[:-2] + "xx"})
    assert refused.status_code == 401
    after = row_counts(world)
    assert {name for name in before if before[name] != after[name]} == {"launch_log"}
    with world.context():
        row = db.session.execute(select(LaunchLog).order_by(LaunchLog.id.desc())).scalars().first()
        assert (row.outcome, row.check_code) == ("failure", "state_cookie_missing")
        # The state is still there (the right secret would still work), and nothing of the secret was logged.
        assert db.session.execute(select(LtiStorageEntry).where(
            LtiStorageEntry.key == f"state:{form['state']}")).scalar_one_or_none() is not None
    assert browser.post("/lti/launch", {**form, "lti_storage_secret": secret}).status_code == 302


def test_a_storage_target_that_is_not_a_frame_name_is_ignored(world):
    browser = world.browser()
    query = browser.login_params(world.platform, world.link(sub="stored-4"), lti_storage_target='x"><script>')
    login = browser.get("/lti/login", params=query)
    assert login.status_code == 302 and login.headers["Location"].startswith(world.platform.auth_url)


def test_a_frame_token_opens_its_session_only_for_the_browser_that_launched(world):
    browser, secret, form, _ = _stored_launch(world, world.link(sub="stored-5"))
    landed = browser.post("/lti/launch", {**form, "lti_storage_secret": secret})
    token = parse_qs(urlsplit(landed.headers["Location"]).query)["lti_frame"][0]
    other = world.browser()
    other.session.headers["User-Agent"] = "Another browser/1.0"
    stolen = other.get(f"/activity/{world.activity_id}?lti_frame={token}")
    assert stolen.status_code == 401 and "This page has expired" in stolen.text


def test_deep_linking_through_platform_storage_links_an_account_without_cookies(live_server):
    """The Welcome page and its login form, then content selection, in a frame session (no cookie anywhere)."""
    with PlatformServer(client_id="lms-client") as server:
        with live_server.app.app_context():
            catalogue = build_catalogue(issuer=server.issuer, client_id=server.client_id, platform_url=server.url)
        platform = LmsPlatform(server, live_server.url, catalogue.login_id)
        browser = FormBrowser()
        login_url = platform.login_url(LmsUser("lms-teacher-9", name="Terry Teacher"),
                                       DeepLinkingRequest(data="course-9")) + "&lti_storage_target=_parent"
        login = browser.get(login_url)
        config = _config(login.text)
        authorised = browser.get(config["next"])
        (posted,) = forms(authorised.text)
        browser.session.cookies.clear()
        page = browser.post(posted.action, data=posted.fields)
        assert _config(page.text)["key"] == config["key"]
        welcome = browser.post(posted.action, data=[*posted.fields, ("lti_storage_secret", config["value"])])
        assert urlsplit(welcome.url).path.startswith("/lti/account/") and "Welcome!" in welcome.text
        token = _TOKEN.search(welcome.text).group(1)
        login_form = next(form for form in forms(welcome.text) if "action=login" in form.action)
        fields = {**dict(login_form.fields), "username": "dl-teacher", "password": "Password-123",
                  "lti_frame": token}
        browser.session.headers["Referer"] = welcome.url  # what the browser sends (same-origin referrer policy)
        done = browser.post(urljoin(welcome.url, login_form.action), data=fields)
        assert "Your existing account has been successfully linked." in done.text
        launch_id = urlsplit(welcome.url).path.rsplit("/", 1)[1]
        selection = browser.get(f"{live_server.url}/lti/deeplink/{launch_id}?lti_frame="
                                f"{_TOKEN.search(done.text).group(1)}")
        assert selection.status_code == 200 and "Published content" in selection.text
        assert not browser.session.cookies
