"""Content selection through the test client: the deep-linking request checks,
accounts in mode 3, the Published content page, and the signed response with its negative cases.

The platform is real (tests/e2e/deep_link_platform.py on lti1p3platform, serving its JWKS over HTTP); the browser
is Flask's test client. The end-to-end run over HTTP, where the platform verifies the response, is
tests/e2e/test_deep_link_e2e.py.
"""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.lti.keys import current_key
from app.models import LaunchLog, LtiIdentity, LtiStorageEntry, User
from app.services.platforms.settings import lti_settings, save_lti_settings
from tests.e2e.deep_link_platform import (
    LEARNER, DeepLinkingRequest, LmsPlatform, LmsUser, ResourceLinkRequest, forms,
)
from tests.e2e.deep_link_world import Catalogue, bind, build_catalogue
from tests.e2e.platform_server import PlatformServer
from tests.helpers import CSRF_RE

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
TEACHER = LmsUser("lms-teacher-1")
GONE = "Bad launch. Deep linking launch data could not be found"
ONE_ITEM = "This platform accepts only one item. Select one resource."
EMPTY = "No resources or activities are published yet"
_ROW = re.compile(r'<th scope="(?:row|rowgroup)"[^>]*>(.*?)</th>', re.S)
_LAUNCH_ID = re.compile(r"/lti/(?:deeplink|account)/([\w-]+)")


@pytest.fixture
def lms(app):
    with PlatformServer(client_id="lms-client") as server:
        catalogue = build_catalogue(issuer=server.issuer, client_id=server.client_id, platform_url=server.url)
        yield LmsPlatform(server, app.config["COURSEPORT_BASE_URL"], catalogue.login_id), catalogue


def launch(client, platform: LmsPlatform, user: LmsUser = TEACHER, message=None, target: str | None = None):
    """The platform's login → authorisation → id_token POST, with the test client as the browser."""
    url = urlsplit(platform.login_url(user, message or DeepLinkingRequest(), target))
    login = client.get(f"{url.path}?{url.query}")  # the client's own host, so its cookies follow every request
    assert login.status_code == 302, login.get_data(as_text=True)
    preflight = {key: values[0] for key, values in parse_qs(urlsplit(login.headers["Location"]).query).items()}
    action, fields = platform.authorize(preflight)
    return client.post(urlsplit(action).path, data=fields)


def selection_page(client, platform: LmsPlatform, catalogue: Catalogue, message=None, *, user_id: int | None = None,
                   lms_user: LmsUser = TEACHER):
    """A bound user's deep-linking launch, followed to the Published content page."""
    bind(user_id or catalogue.teacher_id, platform.issuer, lms_user.sub)
    posted = launch(client, platform, lms_user, message)
    assert posted.status_code == 303, posted.get_data(as_text=True)
    assert "/lti/deeplink/" in posted.headers["Location"]
    page = client.get(posted.headers["Location"])
    assert page.status_code == 200, page.get_data(as_text=True)
    return page, posted.headers["Location"]


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def rows(response) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in _ROW.findall(text(response))]


def respond(client, page_url: str, *, course=(), gradebook=(), action: str = "add", csrf: bool = True):
    page = client.get(page_url) if csrf else None
    data: list[tuple[str, str]] = [("csrf_token", CSRF_RE.search(page.get_data(as_text=True)).group(1))] if csrf \
        else []
    data += [("course", str(value)) for value in course] + [("gradebook", str(value)) for value in gradebook]
    data.append(("action", action))
    return client.post(page_url + "/respond", data=MultiDict(data))


def response_token(response) -> tuple[str, str]:
    """The auto-posting form's action and its JWT field."""
    (form,) = forms(response.get_data(as_text=True))
    return form.action, dict(form.fields)["JWT"]


def verified(client, token: str, platform: LmsPlatform) -> tuple[dict, dict]:
    """Header and claims, checked with PyJWT against the keys /lti/jwks publishes."""
    jwks = client.get("/lti/jwks").get_json()
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWK(next(item for item in jwks["keys"] if item["kid"] == header["kid"]))
    return header, jwt.decode(token, key.key, algorithms=["RS256"], audience=platform.issuer,
                              issuer=platform.client_id)


def log_rows(kind: str) -> list[LaunchLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(LaunchLog).where(LaunchLog.kind == kind).order_by(LaunchLog.id)))


def stored_launches() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(LtiStorageEntry).where(
        LtiStorageEntry.key.like("launch:%")))


# The Published content page -------------------------------------------------------------------------------------
def test_teacher_sees_their_published_content_grouped_and_ordered(client, lms):
    platform, catalogue = lms
    page, _url = selection_page(client, platform, catalogue)
    body = text(page)
    assert "<title>Open tool | Courseport</title>" in body
    assert "<h1>Published content</h1>" in body
    assert 'aria-label="Published content"' in body
    assert rows(page) == ["Algebra", "Equations quiz", "Biology 101", "Cells quiz", "Reading", "Lab report"]
    assert ">Add to course</th>" in body and ">Add to gradebook</th>" in body
    for name in ("biology_course", "cells_quiz", "lab_report", "equations_quiz"):
        assert f'id="gradebook-{catalogue.ids[name]}"' in body
    assert f'id="course-{catalogue.ids["reading"]}"' in body
    assert f'id="gradebook-{catalogue.ids["reading"]}"' not in body  # a page has no grade: "-"
    for hidden in catalogue.hidden_ids.values():
        assert f'value="{hidden}"' not in body
    assert 'type="checkbox" name="course"' in body  # several items accepted
    assert ">Add content</button>" in body and ">Cancel</button>" in body
    assert "js/deeplink.js" in body
    policy = page.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {platform.server.url}" in policy
    (row,) = log_rows("Deep linking")
    assert (row.outcome, row.user_id, row.message_type) == ("success", catalogue.teacher_id, "LtiDeepLinkingRequest")


def test_response_is_signed_with_the_current_key_and_carries_the_spec_claims(client, lms):
    platform, catalogue = lms
    _page, url = selection_page(client, platform, catalogue, DeepLinkingRequest(data="lms-context-42"))
    ids = catalogue.ids
    answer = respond(client, url, course=[ids["biology_course"], ids["cells_quiz"], ids["reading"]],
                     gradebook=[ids["biology_course"], ids["cells_quiz"]])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    action, token = response_token(answer)
    assert action == platform.return_url
    body = answer.get_data(as_text=True)
    assert ">Continue</button>" in body and "3 item(s) added." in body
    nonce = re.search(r"<script nonce=\"([^\"]+)\">document.getElementById\(\"deep-link-response\"\).submit", body)
    assert nonce and f"'nonce-{nonce.group(1)}'" in answer.headers["Content-Security-Policy"]
    assert f"form-action 'self' {platform.server.url}" in answer.headers["Content-Security-Policy"]

    header, claims = verified(client, token, platform)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": current_key().kid}
    assert claims["iss"] == claims["azp"] == platform.client_id
    assert claims["aud"] == platform.issuer
    assert claims["exp"] - claims["iat"] == 600
    assert len(claims["nonce"]) >= 22
    assert claims[LTI + "deployment_id"] == "deployment-1"
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[DL + "data"] == "lms-context-42"
    assert claims[DL + "msg"] == "3 item(s) added."
    launch_url = "http://127.0.0.1:5000/lti/launch"
    assert claims[DL + "content_items"] == [
        {"type": "ltiResourceLink", "title": "Biology 101", "text": "Cells & life", "url": launch_url,
         "custom": {"id": catalogue.biology_course}, "presentation": {"documentTarget": "iframe"},
         "lineItem": {"scoreMaximum": 100, "label": "Biology 101", "resourceId": catalogue.biology_course,
                      "tag": "grade"}},
        {"type": "ltiResourceLink", "title": "Cells quiz", "text": "Ten questions", "url": launch_url,
         "custom": {"id": catalogue.cells_quiz}, "presentation": {"documentTarget": "iframe"},
         "lineItem": {"scoreMaximum": 10, "label": "Cells quiz", "resourceId": catalogue.cells_quiz,
                      "tag": "grade"}},
        {"type": "ltiResourceLink", "title": "Reading", "text": "", "url": launch_url,
         "custom": {"id": catalogue.reading}, "presentation": {"documentTarget": "iframe"}},
    ]
    (row,) = log_rows("Deep linking response")
    assert (row.outcome, row.user_id, row.message_type) == ("success", catalogue.teacher_id,
                                                            "LtiDeepLinkingResponse")
    assert stored_launches() == 0


def test_single_choice_without_line_items(client, lms):
    """accept_multiple and accept_lineitem false (as strings, as some platforms send them), window only."""
    platform, catalogue = lms
    settings = {"accept_multiple": "false", "accept_lineitem": False,
                "accept_presentation_document_targets": ["embed", "window"]}
    page, url = selection_page(client, platform, catalogue, DeepLinkingRequest(settings=settings))
    body = text(page)
    assert "Add to gradebook" not in body and 'name="gradebook"' not in body
    assert 'type="radio" name="course"' in body and 'type="checkbox"' not in body

    ids = catalogue.ids
    two = respond(client, url, course=[ids["cells_quiz"], ids["lab_report"]])
    assert two.status_code == 400
    assert ONE_ITEM in text(two)
    assert rows(two)[:2] == ["Algebra", "Equations quiz"]  # the page again, with the user's choice kept
    assert f'value="{ids["cells_quiz"]}" id="course-{ids["cells_quiz"]}" checked' in text(two)
    assert stored_launches() == 1 and log_rows("Deep linking response") == []

    one = respond(client, url, course=[ids["cells_quiz"]], gradebook=[ids["cells_quiz"]])
    _action, token = response_token(one)
    _header, claims = verified(client, token, platform)
    (item,) = claims[DL + "content_items"]
    assert item["title"] == "Cells quiz" and "lineItem" not in item
    assert item["presentation"] == {"documentTarget": "window"}
    assert DL + "data" not in claims  # the request had none
    assert claims[DL + "msg"] == "1 item(s) added."


def test_server_applies_the_gradebook_rule_and_drops_forbidden_ids(client, lms):
    platform, catalogue = lms
    _page, url = selection_page(client, platform, catalogue)
    ids = catalogue.ids
    answer = respond(client, url, course=[ids["reading"], *catalogue.hidden_ids.values(), 999999, "x"],
                     gradebook=[ids["equations_quiz"], ids["reading"]])
    _action, token = response_token(answer)
    _header, claims = verified(client, token, platform)
    items = claims[DL + "content_items"]
    # Gradebook implies course (Equations quiz), a page never gets a column, forged ids vanish.
    assert [(item["title"], "lineItem" in item) for item in items] == [("Equations quiz", True), ("Reading", False)]
    assert items[0]["lineItem"]["scoreMaximum"] == 20


def test_cancel_sends_an_empty_list_and_the_launch_cannot_be_used_again(client, lms):
    platform, catalogue = lms
    _page, url = selection_page(client, platform, catalogue, DeepLinkingRequest(data={"opaque": [1, 2]}))
    page = client.get(url)
    csrf = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    form = [("csrf_token", csrf), ("course", str(catalogue.ids["cells_quiz"])), ("action", "cancel")]
    cancelled = client.post(url + "/respond", data=MultiDict(form))
    _action, token = response_token(cancelled)
    _header, claims = verified(client, token, platform)
    assert claims[DL + "content_items"] == []
    assert DL + "msg" not in claims
    assert claims[DL + "data"] == {"opaque": [1, 2]}

    replay = client.post(url + "/respond", data=MultiDict(form))
    assert replay.status_code == 400
    assert GONE in text(replay) and "JWT" not in text(replay)
    resume = client.get(url)
    assert resume.status_code == 400 and GONE in text(resume)
    assert [row.outcome for row in log_rows("Deep linking response")] == ["success", "failure"]
    assert log_rows("Deep linking response")[1].check_code == "bad_launch"


def test_respond_without_csrf_is_refused_and_keeps_the_launch(client, lms):
    platform, catalogue = lms
    _page, url = selection_page(client, platform, catalogue)
    refused = respond(client, url, course=[catalogue.ids["cells_quiz"]], csrf=False)
    assert refused.status_code == 400
    assert "JWT" not in text(refused)
    assert stored_launches() == 1
    assert respond(client, url, course=[catalogue.ids["cells_quiz"]]).status_code == 200


def test_another_browser_cannot_use_the_launch(app, client, lms):
    platform, catalogue = lms
    _page, url = selection_page(client, platform, catalogue)
    other = app.test_client()
    assert other.get(url).status_code == 400
    assert GONE in text(other.get(url))
    assert stored_launches() == 1


@pytest.mark.parametrize("who", ["student", "noneditor"])
def test_learners_and_non_editing_teachers_have_nothing_to_pick(client, lms, who):
    platform, catalogue = lms
    user_id = catalogue.student_id if who == "student" else catalogue.noneditor_id
    lms_user = LmsUser(f"lms-{who}", roles=[LEARNER] if who == "student" else TEACHER.roles)
    page, url = selection_page(client, platform, catalogue, user_id=user_id, lms_user=lms_user)
    body = text(page)
    assert EMPTY in body
    assert 'name="course"' not in body and "Add content" not in body
    assert ">Cancel</button>" in body
    answer = respond(client, url, course=list(catalogue.ids.values()), gradebook=list(catalogue.ids.values()))
    _action, token = response_token(answer)
    assert verified(client, token, platform)[1][DL + "content_items"] == []


# The request's checks --------------------------------------------------------------
@pytest.mark.parametrize("message, expected", [
    (DeepLinkingRequest(omit_settings=True), "Missing Deep Linking Settings"),
    (DeepLinkingRequest(settings={"deep_link_return_url": None}), "Missing Deep Linking Return URL"),
    (DeepLinkingRequest(settings={"deep_link_return_url": "javascript:alert(1)"}), "Missing Deep Linking Return URL"),
    (DeepLinkingRequest(settings={"accept_types": ["link", "html"]}), "Must support resource link placement types"),
    (DeepLinkingRequest(settings={"accept_presentation_document_targets": []}), "Must support a presentation type"),
])
def test_deep_linking_settings_are_checked(client, lms, message, expected):
    platform, catalogue = lms
    bind(catalogue.teacher_id, platform.issuer, TEACHER.sub)
    refused = launch(client, platform, TEACHER, message)
    assert refused.status_code == 400
    assert expected in text(refused)
    (row,) = log_rows("Deep linking")
    assert (row.outcome, row.check_code) == ("failure", "deep_linking_settings")
    assert f"Reference: {row.id}" in text(refused)
    assert stored_launches() == 0
    assert db.session.scalar(select(func.count()).select_from(LtiIdentity)) == 1  # only the one bound above


def test_a_resource_link_request_at_the_deep_linking_url_is_refused(client, lms):
    platform, catalogue = lms
    message = ResourceLinkRequest("link-1", custom={"id": catalogue.cells_quiz})
    refused = launch(client, platform, TEACHER, message, target=f"{platform.tool_url}/lti/deeplink")
    assert refused.status_code == 400
    assert "Unrecognized message type." in text(refused)
    (row,) = log_rows("Deep linking")
    assert row.outcome == "failure"
    assert row.fix == "Configure the Deep linking URL as the content selection URL and the Tool URL as the launch URL."
    assert stored_launches() == 0


# Accounts: always mode 3 --------------------------------------------------------------------------
def test_unbound_teacher_links_an_existing_account_first(client, lms):
    platform, catalogue = lms
    posted = launch(client, platform, TEACHER)
    assert posted.status_code == 303
    welcome_url = posted.headers["Location"]
    assert welcome_url.startswith("/lti/account/")
    welcome = client.get(welcome_url)
    assert "Welcome!" in text(welcome) and "Log in to link your existing account." in text(welcome)
    assert "Create an account for me" not in text(welcome)
    csrf = CSRF_RE.search(welcome.get_data(as_text=True)).group(1)
    forged = client.post(welcome_url + "?action=create", data={"csrf_token": csrf})
    assert forged.status_code == 403 and "Account creation is currently prohibited on this site." in text(forged)
    assert db.session.scalar(select(func.count()).select_from(User)) == 3 + 0  # no account was created

    linked = client.post(welcome_url + "?action=login",
                         data={"csrf_token": csrf, "username": "dl-teacher", "password": "Password-123"})
    done = client.get(linked.headers["Location"])
    assert "Your existing account has been successfully linked." in text(done)
    launch_id = _LAUNCH_ID.search(welcome_url).group(1)
    assert f'href="/lti/deeplink/{launch_id}"' in text(done)
    page = client.get(f"/lti/deeplink/{launch_id}")
    assert page.status_code == 200 and "Equations quiz" in text(page)
    (row,) = log_rows("Deep linking")
    assert row.user_id == catalogue.teacher_id  # learned once the account was linked


def test_a_suspended_account_cannot_pick_content(client, lms):
    platform, catalogue = lms
    bind(catalogue.teacher_id, platform.issuer, TEACHER.sub)
    db.session.get(User, catalogue.teacher_id).suspended = True
    db.session.commit()
    refused = launch(client, platform, TEACHER)
    assert refused.status_code == 403
    assert "This account is suspended. Please contact the administrator of this tool." in text(refused)
    assert stored_launches() == 0


def test_with_frame_embedding_off_selection_continues_in_a_new_window(app, client, lms):
    platform, catalogue = lms
    save_lti_settings({**lti_settings(), "allow_frame_embedding": False})
    db.session.commit()
    bind(catalogue.teacher_id, platform.issuer, TEACHER.sub)
    page = launch(client, platform, TEACHER)
    assert page.status_code == 200
    handoff = re.search(r'href="(/lti/continue/[^"]+)"', text(page)).group(1)
    window = app.test_client()
    moved = window.get(handoff)
    assert moved.status_code == 302 and "/lti/deeplink/" in moved.headers["Location"]
    selection = window.get(moved.headers["Location"])
    assert selection.status_code == 200 and "Cells quiz" in text(selection)
    assert window.get(handoff).status_code == 400  # single use
