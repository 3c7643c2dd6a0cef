"""Content selection end to end (checklist "Deep linking"): Courseport served over HTTP, an independent
platform (lti1p3platform) driving login → deep-linking request → Published content → response, verifying the
response JWT against the tool's /lti/jwks fetched over HTTP, and then launching every returned link.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.lti.keys import current_key
from app.models import PublishedResource, ResourceLink
from tests.e2e.deep_link_platform import (
    LEARNER, DeepLinkingRequest, FormBrowser, LmsPlatform, LmsUser, ResourceLinkRequest, forms,
)
from tests.e2e.deep_link_world import bind, build_catalogue
from tests.e2e.platform_server import PlatformServer
from tests.postgres import BOTH_DATABASES

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
TEACHER = LmsUser("lms-teacher-1", name="Terry Teacher")
STUDENT = LmsUser("lms-student-1", roles=[LEARNER], name="Sam Student")


@pytest.fixture
def lms(live_server):
    with PlatformServer(client_id="lms-client") as server:
        with live_server.app.app_context():
            catalogue = build_catalogue(issuer=server.issuer, client_id=server.client_id, platform_url=server.url)
        yield LmsPlatform(server, live_server.url, catalogue.login_id), catalogue


def landing_path(live_server, uuid: str) -> str:
    """Where a launch of this resource must land: its course or its activity."""
    with live_server.app.app_context():
        resource = db.session.scalar(select(PublishedResource).where(PublishedResource.uuid == uuid))
        return f"/activity/{resource.activity_id}" if resource.activity_id else f"/course/{resource.course_id}"


@BOTH_DATABASES
def test_teacher_links_an_account_adds_content_with_gradebook_columns_and_every_link_launches(live_server, lms):
    platform, catalogue = lms
    browser = FormBrowser()

    # First launch of this LMS identity: mode 3, so the Welcome page offers only "Use existing account".
    welcome = browser.open_tool(platform, TEACHER, DeepLinkingRequest(data="lms-course-77"))
    assert urlsplit(welcome.url).path.startswith("/lti/account/")
    assert "Create an account for me" not in welcome.text
    login_form = next(form for form in forms(welcome.text) if "action=login" in form.action)
    fields = {**dict(login_form.fields), "username": "dl-teacher", "password": "Password-123"}
    done = browser.post(urljoin(welcome.url, login_form.action), data=fields)
    assert "Your existing account has been successfully linked." in done.text
    launch_id = urlsplit(welcome.url).path.rsplit("/", 1)[1]
    page = browser.get(f"{live_server.url}/lti/deeplink/{launch_id}")
    assert page.status_code == 200 and "Published content" in page.text

    ids = catalogue.ids
    answer = browser.select(page, course=[ids["biology_course"], ids["reading"]],
                            gradebook=[ids["biology_course"], ids["cells_quiz"], ids["lab_report"]])
    assert answer.status_code == 200 and "4 item(s) added." in answer.text
    received_page = browser.submit_auto_form(answer)
    assert received_page.status_code == 200, received_page.text
    assert "The platform received 4 item(s)." in received_page.text

    (received,) = platform.returns
    assert received.error is None
    with live_server.app.app_context():
        assert received.header == {"alg": "RS256", "typ": "JWT", "kid": current_key().kid}
    claims = received.claims
    assert (claims["iss"], claims["aud"], claims["azp"]) == (platform.client_id, platform.issuer, platform.client_id)
    assert claims["exp"] - claims["iat"] == 600
    assert claims[LTI + "deployment_id"] == "deployment-1"
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[DL + "data"] == "lms-course-77"
    assert claims[DL + "msg"] == "4 item(s) added."
    items = received.content_items
    assert items == claims[DL + "content_items"]
    assert [(item["title"], item.get("lineItem")) for item in items] == [
        ("Biology 101", {"scoreMaximum": 100, "label": "Biology 101", "resourceId": catalogue.biology_course,
                         "tag": "grade"}),
        ("Cells quiz", {"scoreMaximum": 10, "label": "Cells quiz", "resourceId": catalogue.cells_quiz,
                        "tag": "grade"}),
        ("Reading", None),
        ("Lab report", {"scoreMaximum": 50, "label": "Lab report", "resourceId": catalogue.lab_report,
                        "tag": "grade"}),
    ]
    assert {item["url"] for item in items} == {f"{live_server.url}/lti/launch"}
    assert all(item["presentation"] == {"documentTarget": "iframe"} for item in items)

    # The platform creates a link per item and launches it; a graded one names its coupled line item.
    for number, item in enumerate(items, start=1):
        coupled = f"{platform.server.url}/lineitems/{number}" if "lineItem" in item else None
        message = ResourceLinkRequest(f"placed-{number}", custom=item["custom"],
                                      lineitems=f"{platform.server.url}/lineitems" if coupled else None,
                                      lineitem=coupled)
        for user in (TEACHER, STUDENT):
            landed = browser.open_tool(platform, user, message, target=item["url"])
            assert landed.status_code == 200, landed.text[:500]
            assert urlsplit(landed.url).path == landing_path(live_server, item["custom"]["id"])
        with live_server.app.app_context():
            link = db.session.scalar(select(ResourceLink).where(ResourceLink.resource_link_id == f"placed-{number}"))
            resource = db.session.get(PublishedResource, link.published_resource_id)
            assert resource.uuid == item["custom"]["id"]
            assert link.ags_lineitem_url == coupled  # grade sync sends to the column the LMS made for the item


def test_single_item_without_line_items_then_cancel_and_replay(live_server, lms):
    platform, catalogue = lms
    with live_server.app.app_context():
        bind(catalogue.teacher_id, platform.issuer, TEACHER.sub)
    browser = FormBrowser()
    settings = {"accept_multiple": False, "accept_lineitem": False}
    page = browser.open_tool(platform, TEACHER, DeepLinkingRequest(settings=settings))
    assert urlsplit(page.url).path.startswith("/lti/deeplink/")
    assert "Add to gradebook" not in page.text

    ids = catalogue.ids
    refused = browser.select(page, course=[ids["cells_quiz"], ids["equations_quiz"]])
    assert refused.status_code == 400
    assert "This platform accepts only one item. Select one resource." in refused.text
    answer = browser.select(refused, course=[ids["equations_quiz"]], gradebook=[ids["equations_quiz"]])
    browser.submit_auto_form(answer)
    (received,) = platform.returns
    assert received.error is None
    (item,) = received.content_items
    assert item["title"] == "Equations quiz" and "lineItem" not in item
    assert DL + "data" not in received.claims
    landed = browser.open_tool(platform, TEACHER, ResourceLinkRequest("single-1", custom=item["custom"]),
                               target=item["url"])
    assert urlsplit(landed.url).path == landing_path(live_server, catalogue.equations_quiz)

    # Cancel: the platform gets an empty list the same way; the used launch then answers nothing more.
    page = browser.open_tool(platform, TEACHER, DeepLinkingRequest(data={"return": "here"}))
    respond_form = next(form for form in forms(page.text) if "respond" in form.action)
    cancelled = browser.select(page, course=[ids["cells_quiz"]], action="cancel")
    browser.submit_auto_form(cancelled)
    assert platform.returns[1].error is None
    assert platform.returns[1].content_items == []
    assert platform.returns[1].claims[DL + "data"] == {"return": "here"}
    assert DL + "msg" not in platform.returns[1].claims
    replay = browser.post(urljoin(page.url, respond_form.action),
                          data=[*respond_form.fields, ("course", str(ids["cells_quiz"])), ("action", "add")])
    assert replay.status_code == 400
    assert "Bad launch. Deep linking launch data could not be found" in replay.text
    assert len(platform.returns) == 2
