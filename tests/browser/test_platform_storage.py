"""LTI 1.3 launches in a cross-site frame where the browser keeps NO cookie for Courseport, completed through the
platform's storage (LTI client side postMessages).

The LMS course page is on `localhost`, Courseport on `https://127.0.0.1`. Chromium alone would still accept
Courseport's `Partitioned` cookies, so the test browser's own profile blocks every cookie of the tool's origin (the
site setting a user or an administrator can make), and each test checks that no cookie of the tool exists. The LMS page
answers `lti.capabilities` itself and keeps data in a hidden sibling frame named `post_message_forwarding`, as
Canvas does; the tool is told so with `lti_storage_target=post_message_forwarding`.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import LaunchLog, LtiStorageEntry
from tests import factories
from tests.browser.lms_frame import FramingLms, lms_frame_page, shot
from tests.browser.test_layout_a11y import AXE, axe_problems
from tests.e2e.lti_launcher import LinkSpec

pytestmark = pytest.mark.browser

# The LMS page: answers capabilities (listing the forwarding frame and lti.frameResize) and resizes the frame.
_COURSE_PAGE = """<!doctype html><html><head><title>LMS course</title></head><body>
<h1>LMS: History of Science</h1>
<iframe name="post_message_forwarding" title="Forwarding" src="/forwarding" hidden></iframe>
<iframe id="tool" name="tool" title="Courseport" src="{login}" style="width: 100%; box-sizing: border-box"
        height="500"></iframe>
<script>
window.resizes = [];
var tool = document.getElementById("tool");
window.addEventListener("message", function (event) {{
  if (event.source !== tool.contentWindow || !event.data) {{ return; }}
  var data = event.data;
  if ({answer} && (data.subject === "lti.capabilities" || data.subject === "org.imsglobal.lti.capabilities")) {{
    event.source.postMessage({{subject: data.subject + ".response", message_id: data.message_id,
      supported_messages: [{{subject: "lti.capabilities"}},
                           {{subject: "lti.put_data", frame: "post_message_forwarding"}},
                           {{subject: "lti.get_data", frame: "post_message_forwarding"}},
                           {{subject: "lti.frameResize"}}]}},
      event.origin);
  }} else if (data.subject === "lti.frameResize") {{
    window.resizes.push(data.height);
    tool.height = String(data.height);
  }}
}});
</script></body></html>"""

# The forwarding frame: platform storage kept per tool origin. `impostor`: before answering lti.get_data it tells
# a frame on another origin the message_id, and that frame answers first with a value of its own.
_FORWARDING_PAGE = """<!doctype html><html><body><script>
var kept = {{}};
window.addEventListener("message", function (event) {{
  var data = event.data;
  if (!data || !{answer}) {{ return; }}
  if (data.subject === "lti.put_data") {{
    kept[event.origin + " " + data.key] = data.value;
    event.source.postMessage({{subject: "lti.put_data.response", message_id: data.message_id, key: data.key,
                              value: data.value}}, event.origin);
  }} else if (data.subject === "lti.get_data") {{
    var reply = function () {{
      event.source.postMessage({{subject: "lti.get_data.response", message_id: data.message_id, key: data.key,
                                value: kept[event.origin + " " + data.key]}}, event.origin);
    }};
    if ({impostor}) {{
      window.parent.frames["impostor"].postMessage({{message_id: data.message_id, key: data.key}}, "*");
      setTimeout(reply, 400);
    }} else {{
      reply();
    }}
  }}
}});
</script></body></html>"""

_IMPOSTOR_PAGE = """<!doctype html><html><body><script>
window.addEventListener("message", function (event) {
  window.parent.frames["tool"].postMessage({subject: "lti.get_data.response", message_id: event.data.message_id,
                                            key: event.data.key, value: "forged-secret"}, "*");
});
</script></body></html>"""


class CookielessLms(FramingLms):
    """Courseport over HTTPS on 127.0.0.1, and an LMS whose pages are on localhost."""

    def __init__(self, tmp_path: Path, *, answer: bool = True, impostor: bool = False) -> None:
        super().__init__(tmp_path)
        flags = {"answer": "true" if answer else "false", "impostor": "true" if impostor else "false"}
        self.server.handlers["/forwarding"] = lambda request: Response(_FORWARDING_PAGE.format(**flags),
                                                                       mimetype="text/html")
        self.server.handlers["/impostor"] = lambda request: Response(_IMPOSTOR_PAGE, mimetype="text/html")
        self._answer = flags["answer"]
        self._impostor = impostor
        with self.app.app_context():
            factories.make_registration("School LMS", issuer=self.server.issuer, client_id=self.server.client_id,
                                        auth_request_url=f"{self.pages}/auth", jwks_url=self.platform.jwks_url)
            course = factories.make_course("HIS101", "History of Science")
            quiz = factories.make_quiz(course, "Galileo's telescope")
            self.resource_uuid = factories.make_resource(course, quiz).uuid

    def course_page(self, sub: str) -> str:
        hint = self.platform.add_link(LinkSpec(sub=sub, resource_uuid=self.resource_uuid))
        login = f"{self.tool.url}/lti/login?" + urlencode({
            "iss": self.server.issuer, "login_hint": sub, "target_link_uri": f"{self.tool.url}/lti/launch",
            "lti_message_hint": hint, "client_id": self.server.client_id,
            "lti_storage_target": "post_message_forwarding"})
        page = _COURSE_PAGE.format(login=login, answer=self._answer)
        if self._impostor:
            impostor = f"http://127.0.0.1:{self.server.port}/impostor"
            page = page.replace("<h1>", f'<iframe name="impostor" title="Impostor" src="{impostor}" hidden>'
                                        "</iframe><h1>")
        path = f"/course-{sub}"
        self.server.handlers[path] = lambda request: Response(page, mimetype="text/html")
        return self.pages + path

    def launch_rows(self) -> list[LaunchLog]:
        with self.app.app_context():
            return list(db.session.execute(select(LaunchLog).order_by(LaunchLog.id)).scalars())

    def live_frame_tokens(self) -> set[str]:
        with self.app.app_context():
            keys = db.session.execute(select(LtiStorageEntry.key)).scalars()
            return {key.split(":", 1)[1] for key in keys if key.startswith("frame:")}


@pytest.fixture
def cookieless(browser, tmp_path, request) -> Iterator[tuple[CookielessLms, object]]:
    lms = CookielessLms(tmp_path, **getattr(request, "param", {}))

    def prepare(context) -> None:
        context.add_init_script(path=str(AXE))  # every frame gets axe-core, whatever the page's CSP

    with lms_frame_page(browser, lms, width=1280, prepare=prepare,
                        block_cookies_of=(lms.tool.url, tmp_path / "profile")) as (lms, page):
        yield lms, page


def _tool_cookies(page) -> list[dict]:
    return [cookie for cookie in page.context.cookies() if cookie["domain"] == "127.0.0.1"]


def _wait_until_the_frame_fits(page, seconds: float = 3) -> int:
    """The frame's height once the page inside no longer scrolls in it (the page asks with lti.frameResize)."""
    deadline = time.monotonic() + seconds
    while True:
        height = int(page.locator("#tool").get_attribute("height") or 0)
        if page.frame(name="tool").evaluate("document.documentElement.scrollHeight") <= height:
            return height
        assert time.monotonic() < deadline, "the frame was not resized to its page"
        page.wait_for_timeout(100)


def test_learner_launches_and_browses_without_any_tool_cookie(cookieless, caplog):
    lms, page = cookieless
    caplog.set_level(logging.INFO, logger="werkzeug")
    referers: list[tuple[str, str]] = []
    page.on("request", lambda request: referers.append((request.url, request.headers.get("referer") or "")))

    page.goto(lms.course_page("learner-1"))
    frame = page.frame_locator("#tool")
    frame.get_by_role("heading", name="Galileo's telescope").wait_for()
    shot(page, "platform-storage-landed-1280")
    assert axe_problems(page.frame(name="tool")) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    shot(page, "platform-storage-landed-390")
    assert axe_problems(page.frame(name="tool")) == []
    page.set_viewport_size({"width": 1280, "height": 900})

    # Further pages in the frame, forms with their CSRF tokens included: start an attempt, answer, finish.
    frame.get_by_role("button", name="Attempt quiz now").click()
    frame.get_by_label("right 1").check()
    frame.get_by_label("right 2").check()
    frame.get_by_role("button", name="Submit all and finish").click()
    frame.get_by_text("Attempt 1 submitted").wait_for()
    _wait_until_the_frame_fits(page)
    shot(page, "platform-storage-quiz-done")
    frame.get_by_role("link", name="Finish review").click()
    frame.get_by_text("Highest grade:").wait_for()

    assert _tool_cookies(page) == []
    [launch] = lms.launch_rows()  # the login left no row of its own
    assert (launch.kind, launch.outcome, launch.cookie_method) == ("LTI 1.3 launch", "success", "storage")
    # The LMS frame was sized to the page instead of scrolling inside it.
    assert page.evaluate("window.resizes.length") > 0
    assert _wait_until_the_frame_fits(page) != 500

    # Nothing that still opens the session is in the server's log or in any Referer, and no other site is told
    # the tool's URLs at all.
    live = lms.live_frame_tokens()
    assert len(live) == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "lti_frame=" in logged  # the spent tokens of the pages followed
    assert not any(token in logged for token in live)
    assert not any(token in referer for _, referer in referers for token in live)
    assert [url for url, referer in referers if referer.startswith(lms.tool.url)
            and not url.startswith(lms.tool.url)] == []


@pytest.mark.parametrize("cookieless", [{"answer": False}], indirect=True)
def test_a_platform_that_does_not_answer_gets_the_new_window_notice(cookieless):
    lms, page = cookieless
    started = time.monotonic()
    page.goto(lms.course_page("learner-2"))
    frame = page.frame_locator("#tool")
    frame.get_by_role("heading", name="Cookies are blocked by your browser").wait_for()
    assert time.monotonic() - started < 6
    assert frame.get_by_text("Your LMS did not answer the tool's request to keep this launch in its storage"
                             ).is_visible()
    link = frame.get_by_role("link", name="Open in a new window")
    assert link.get_attribute("target") == "_blank"
    assert "lti_new_window=1" in link.get_attribute("href") and "lti_storage_target" not in link.get_attribute("href")
    shot(page, "platform-storage-no-answer")
    assert axe_problems(page.frame(name="tool")) == []
    assert _tool_cookies(page) == []


@pytest.mark.parametrize("cookieless", [{"impostor": True}], indirect=True)
def test_an_answer_from_another_origin_is_ignored(cookieless):
    lms, page = cookieless
    page.goto(lms.course_page("learner-3"))
    page.frame_locator("#tool").get_by_role("heading", name="Galileo's telescope").wait_for()
    launches = [row for row in lms.launch_rows() if row.kind == "LTI 1.3 launch"]
    assert [(row.outcome, row.cookie_method) for row in launches] == [("success", "storage")]
