"""LTI 1.3 launches end to end: Courseport on a real HTTP server, an lti1p3platform platform signing the tokens
and serving its keys, requests.Session browsers following the real redirects."""
from __future__ import annotations

import hashlib
import html
import re
import threading
from urllib.parse import urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Enrolment, LaunchLog, LtiContext, LtiIdentity, LtiUser, LtiUserResourceLink, ResourceLink, RoleAssignment, User,
)
from app.models.tools import PROVISION_PROMPT_EXISTING, PROVISION_PROMPT_NEW_EXISTING
from app.services.platforms.settings import save_lti_settings
from tests import factories
from tests.e2e.launch_world import World, world  # noqa: F401  (fixture)
from tests.e2e.lti_launcher import INSTRUCTOR, LinkSpec
from tests.helpers import CSRF_RE
from tests.postgres import BOTH_DATABASES


def _username(world: World, sub: str) -> str:
    return "lti13_" + hashlib.sha1(f"{world.platform.issuer}_{sub}".encode()).hexdigest()


def _user(world: World, username: str) -> User | None:
    with world.context():
        return db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()


@BOTH_DATABASES
def test_student_is_created_enrolled_and_lands_embedded_in_the_activity(world):
    browser = world.browser()
    hint = world.link(sub="s-100", return_url="https://lms.school.example/course/7",
                      ags={"lineitems": "https://lms.school.example/api/lineitems",
                           "lineitem": "https://lms.school.example/api/lineitems/3"},
                      nrps_url="https://lms.school.example/api/members")
    result = browser.launch(world.platform, hint)

    # What the platform received at its authentication URL.
    auth = world.platform.auth_requests()[-1]
    assert {key: auth[key] for key in ("scope", "response_type", "response_mode", "prompt", "client_id",
                                       "redirect_uri", "login_hint", "lti_message_hint")} == {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": world.platform.client_id, "redirect_uri": f"{world.url}/lti/launch", "login_hint": "s-100",
        "lti_message_hint": hint}
    assert len(auth["state"]) >= 22 and len(auth["nonce"]) >= 22 and auth["state"] != auth["nonce"]

    assert result.launch.status_code == 302
    assert result.launch.headers["Location"] == f"/activity/{world.activity_id}"
    landing = browser.follow(result.launch)
    assert landing.status_code == 200
    assert 'class="layout-embedded"' in landing.text and "Cells are small." in landing.text
    frame_ancestors = landing.headers["Content-Security-Policy"].split("frame-ancestors ")[1]
    assert world.platform.server.url in frame_ancestors and "https://lms.school.example" in frame_ancestors
    assert "X-Frame-Options" not in landing.headers

    username = _username(world, "s-100")
    with world.context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        assert (user.first_name, user.last_name, user.email, user.auth_method) == \
            ("Stu", "Dent", "stu@school.example", "lti")
        identity = db.session.execute(select(LtiIdentity).where(LtiIdentity.user_id == user.id)).scalar_one()
        assert (identity.issuer, identity.subject, identity.registration_id) == \
            (world.platform.issuer, "s-100", world.registration_id)
        enrolment = db.session.execute(select(Enrolment).where(Enrolment.user_id == user.id)).scalar_one()
        assert enrolment.published_resource_id == world.activity_resource_id and enrolment.time_end is None
        role = db.session.execute(select(RoleAssignment).where(RoleAssignment.user_id == user.id)).scalar_one()
        assert (role.role, role.course_id, role.activity_id) == ("student", world.course_id, world.activity_id)
        context = db.session.execute(select(LtiContext)).scalar_one()
        assert (context.context_id, context.title, context.label) == ("course-101", "Biology 101", "COURSE-101")
        assert context.types == ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
        link = db.session.execute(select(ResourceLink)).scalar_one()
        assert (link.resource_link_id, link.published_resource_id, link.lti_context_id) == \
            ("link-1", world.activity_resource_id, context.id)
        assert link.ags_lineitems_url == "https://lms.school.example/api/lineitems"
        assert link.ags_lineitem_url == "https://lms.school.example/api/lineitems/3"
        assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in link.ags_scopes
        assert (link.nrps_memberships_url, link.nrps_versions) == ("https://lms.school.example/api/members", ["2.0"])
        lti_user = db.session.execute(select(LtiUser)).scalar_one()
        assert (lti_user.user_id, lti_user.subject, lti_user.published_resource_id) == \
            (user.id, "s-100", world.activity_resource_id)
        assert db.session.execute(select(LtiUserResourceLink)).scalar_one().resource_link_id == link.id
        # The login left no row of its own: the launch's row says which cookie path it took.
        kinds = [(row.kind, row.outcome, row.user_id, row.cookie_method) for row in
                 db.session.execute(select(LaunchLog).order_by(LaunchLog.id)).scalars()]
        assert kinds == [("LTI 1.3 launch", "success", user.id, "cookie")]


def test_a_later_launch_updates_services_it_carries_and_keeps_those_it_omits(world):
    browser = world.browser()
    first = world.link(sub="s-7", ags={"lineitems": "https://lms.school.example/li"},
                       nrps_url="https://lms.school.example/m1", given_name="Old", email="old@school.example")
    assert browser.launch(world.platform, first).launch.status_code == 302
    second = world.link(sub="s-7", nrps_url="https://lms.school.example/m2", given_name="New",
                        email="not an email")
    assert browser.launch(world.platform, second).launch.status_code == 302
    with world.context():
        link = db.session.execute(select(ResourceLink)).scalar_one()
        assert link.ags_lineitems_url == "https://lms.school.example/li"  # kept: the second launch had no AGS
        assert link.nrps_memberships_url == "https://lms.school.example/m2"  # overwritten
        user = db.session.execute(select(User).where(User.username == _username(world, "s-7"))).scalar_one()
        # lti accounts follow the platform; an invalid email falls back to {username}@example.com
        assert (user.first_name, user.email) == ("New", f"{user.username}@example.com")


def _welcome_token(page_text: str) -> str:
    match = CSRF_RE.search(page_text)
    assert match, page_text
    return match.group(1)


@BOTH_DATABASES
def test_teacher_is_prompted_links_an_existing_account_then_relaunches_straight_in(world):
    with world.context():
        teacher = factories.make_user("tina", first_name="Tina", last_name="Teach", email="tina@school.example")
        teacher_id = teacher.id
    browser = world.browser()
    hint = world.link(sub="t-1", roles=INSTRUCTOR, resource_uuid=world.course_uuid, given_name="Tina",
                      family_name="LMS", email="tina@lms.example")
    result = browser.launch(world.platform, hint)
    welcome_url = result.launch.headers["Location"]
    assert welcome_url.startswith("/lti/account/")
    welcome = browser.get(welcome_url)
    assert welcome.status_code == 200
    for text in ("Welcome!", "It looks like this is your first time here. Please select from one of the "
                 "following account options.", "I have an existing account", "Use existing account",
                 "Log in to link your existing account.", "I'd like to create a new account", "Create account",
                 "Get started with a new account", "Create an account for me"):
        assert text in html.unescape(welcome.text)

    token = _welcome_token(welcome.text)
    wrong = browser.post(welcome_url + "?action=login", {"csrf_token": token, "username": "tina",
                                                         "password": "wrong-password"})
    assert wrong.status_code == 400 and "Invalid login, please try again" in wrong.text
    assert _user(world, _username(world, "t-1")) is None

    linked = browser.post(welcome_url + "?action=login", {"csrf_token": token, "username": "tina",
                                                          "password": factories.PASSWORD})
    assert linked.status_code == 302
    done = browser.get(linked.headers["Location"])
    assert "Your existing account has been successfully linked." in done.text
    landing = browser.follow(browser.get(welcome_url.replace("/lti/account/", "/lti/launch/")))
    assert landing.status_code == 200 and "Biology" in landing.text
    assert 'class="layout-full"' in landing.text  # a teacher on a course resource: full layout

    with world.context():
        identity = db.session.execute(select(LtiIdentity).where(LtiIdentity.subject == "t-1")).scalar_one()
        assert identity.user_id == teacher_id
        teacher = db.session.get(User, teacher_id)
        assert (teacher.first_name, teacher.last_name, teacher.email) == ("Tina", "Teach", "tina@school.example")
        role = db.session.execute(select(RoleAssignment).where(
            RoleAssignment.user_id == teacher_id)).scalar_one()
        assert (role.role, role.activity_id) == ("teacher", None)
        launch_rows = db.session.execute(select(LaunchLog).where(LaunchLog.kind == "LTI 1.3 launch")).scalars()
        assert [(row.outcome, row.user_id) for row in launch_rows] == [("success", teacher_id)]

    # The launch is consumed: resuming it again is refused.
    again = browser.get(welcome_url.replace("/lti/account/", "/lti/launch/"))
    assert again.status_code == 400 and "Bad launch." in again.text

    # A fresh browser relaunching is signed straight in, never prompted again.
    relaunch = world.browser().launch(world.platform, world.link(sub="t-1", roles=INSTRUCTOR,
                                                                 resource_uuid=world.course_uuid))
    assert relaunch.launch.headers["Location"] == f"/course/{world.course_id}"


def test_existing_accounts_only_without_an_account_cannot_get_in(world):
    world.update_resource(world.activity_resource_id, provisioning_mode_learner=PROVISION_PROMPT_EXISTING)
    browser = world.browser()
    result = browser.launch(world.platform, world.link(sub="s-3"))
    welcome_url = result.launch.headers["Location"]
    welcome = browser.get(welcome_url)
    assert "Log in to link your existing account." in welcome.text
    assert "Create an account for me" not in welcome.text

    forged = browser.post(welcome_url + "?action=create", {"csrf_token": _welcome_token(welcome.text)})
    assert forged.status_code == 403 and "Account creation is currently prohibited on this site." in forged.text
    resumed = browser.get(welcome_url.replace("/lti/account/", "/lti/launch/"))
    assert resumed.headers["Location"] == welcome_url  # still no account: back to the prompt
    assert browser.get(f"/activity/{world.activity_id}").status_code == 302  # not signed in: the login page
    with world.context():
        assert db.session.execute(select(User)).scalars().all() == []
        assert db.session.execute(select(Enrolment)).scalars().all() == []


def test_an_auto_created_account_is_never_prompted_later(world):
    world.update_resource(world.course_resource_id, provisioning_mode_learner=PROVISION_PROMPT_NEW_EXISTING)
    assert world.browser().launch(world.platform, world.link(sub="s-9")).launch.status_code == 302
    user = _user(world, _username(world, "s-9"))
    later = world.browser().launch(world.platform, world.link(sub="s-9", resource_uuid=world.course_uuid,
                                                              resource_link_id="link-2"))
    assert later.launch.headers["Location"] == f"/course/{world.course_id}"
    with world.context():
        enrolments = db.session.execute(select(Enrolment).where(Enrolment.user_id == user.id)).scalars().all()
        assert {e.published_resource_id for e in enrolments} == {world.activity_resource_id,
                                                                 world.course_resource_id}
        assert len(db.session.execute(select(User)).scalars().all()) == 1


def test_login_without_client_id_finds_the_registration_by_the_login_url_id(world):
    with world.context():
        # A second registration on the same issuer: only the login URL's id can tell them apart.
        factories.make_registration("Other", issuer=world.platform.issuer, client_id="other-client")
        from app.models import PlatformRegistration
        login_id = db.session.get(PlatformRegistration, world.registration_id).login_id
    browser = world.browser()
    hint = world.link(sub="s-11")
    refused = browser.start(world.platform, hint, client_id=None)
    assert refused.login.status_code == 400
    assert "Client ID (N/A)" in refused.login.text
    result = browser.submit(browser.start(world.platform, hint, client_id=None, login_id=login_id))
    assert result.launch.status_code == 302 and result.launch.headers["Location"].startswith("/activity/")


def test_force_embed_embeds_a_teacher(world):
    with world.context():
        factories.make_user("tom")
    browser = world.browser()
    result = browser.launch(world.platform, world.link(sub="t-2", roles=INSTRUCTOR, resource_uuid=world.course_uuid,
                                                       custom={"force_embed": "1"}))
    welcome_url = result.launch.headers["Location"]
    token = _welcome_token(browser.get(welcome_url).text)
    browser.post(welcome_url + "?action=login", {"csrf_token": token, "username": "tom",
                                                 "password": factories.PASSWORD})
    landing = browser.follow(browser.get(welcome_url.replace("/lti/account/", "/lti/launch/")))
    assert 'class="layout-embedded"' in landing.text


@BOTH_DATABASES
def test_two_simultaneous_first_launches_create_one_account(world):
    browsers = [world.browser(), world.browser()]
    started = [b.start(world.platform, world.link(sub="racer")) for b in browsers]
    barrier = threading.Barrier(2)
    results = [None, None]

    def post(index: int) -> None:
        barrier.wait()
        results[index] = browsers[index].submit(started[index])

    threads = [threading.Thread(target=post, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [r.launch.status_code for r in results] == [302, 302]
    assert {r.launch.headers["Location"] for r in results} == {f"/activity/{world.activity_id}"}
    with world.context():
        assert len(db.session.execute(select(User)).scalars().all()) == 1
        assert len(db.session.execute(select(LtiIdentity)).scalars().all()) == 1
        assert len(db.session.execute(select(Enrolment)).scalars().all()) == 1


def test_keyset_is_cached_refetched_once_for_a_rotated_key_and_works_without_alg(world):
    world.platform.jwks_without_alg = True
    for sub in ("k-1", "k-2", "k-3"):
        assert world.browser().launch(world.platform, world.link(sub=sub)).launch.status_code == 302
    assert world.platform.jwks_fetches() == 1  # cached: max-age=3600

    world.platform.rotate_key()
    assert world.browser().launch(world.platform, world.link(sub="k-4")).launch.status_code == 302
    assert world.platform.jwks_fetches() == 2  # one refetch for the unknown kid
    assert world.browser().launch(world.platform, world.link(sub="k-5")).launch.status_code == 302
    assert world.platform.jwks_fetches() == 2


def test_frame_embedding_off_hands_the_launch_to_a_new_window_once(world):
    with world.context():
        save_lti_settings({"allow_frame_embedding": False})
        db.session.commit()
    frame = world.browser()
    page = frame.launch(world.platform, world.link(sub="s-20")).launch
    assert page.status_code == 200 and "To access the tool, please follow the link below." in page.text
    assert world.platform.server.url in page.headers["Content-Security-Policy"]  # this page shows in the frame
    handoff = re.search(r'href="(/lti/continue/[^"]+)"', page.text).group(1)
    assert urlsplit(handoff).path.startswith("/lti/continue/")
    assert _user(world, _username(world, "s-20")) is None  # provisioning happens in the new window

    window = world.browser()
    landed = window.get(handoff)
    assert landed.headers["Location"] == f"/activity/{world.activity_id}"
    content = window.follow(landed)
    assert content.status_code == 200
    assert content.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")  # the content is not
    assert _user(world, _username(world, "s-20")) is not None
    assert world.browser().get(handoff).status_code == 400  # single use


def test_lti_message_hint_is_passed_back_unchanged(world):
    hint = world.platform.add_link(LinkSpec(sub="s-30", resource_uuid=world.activity_uuid),
                                   hint='{"link": 7, "note": "a b&c=d/\u00e9"}')
    result = world.browser().launch(world.platform, hint)
    assert world.platform.auth_requests()[-1]["lti_message_hint"] == hint
    assert result.launch.status_code == 302


def test_a_launch_signs_out_whoever_was_signed_in_in_this_browser(world):
    with world.context():
        factories.make_user("olga", first_name="Olga", last_name="Other")
    browser = world.browser()
    token = _welcome_token(browser.get("/login").text)
    assert browser.post("/login", {"csrf_token": token, "username": "olga",
                                   "password": factories.PASSWORD}).status_code == 302
    landing = browser.follow(browser.launch(world.platform, world.link(sub="s-40", given_name="Sam",
                                                                       family_name="Student")).launch)
    assert landing.status_code == 200
    home = browser.get("/")
    assert "Olga Other" not in home.text and "Sam Student" in home.text


def _course_navigation(world: World, sub: str, context_id: str = "course-101"):
    """Canvas's course navigation: a resource link launch with no custom parameters."""
    return world.browser().launch(world.platform, world.link(sub=sub, resource_uuid=None, context_id=context_id,
                                                             resource_link_id=f"nav-{context_id}"))


def _last_log(world: World) -> LaunchLog:
    with world.context():
        return db.session.execute(select(LaunchLog).order_by(LaunchLog.id.desc())).scalars().first()


def test_course_navigation_opens_the_one_course_linked_in_its_context(world):
    refused = _course_navigation(world, "nav-t")
    assert refused.launch.status_code == 400
    assert "A teacher must first add the course through content selection" in html.unescape(refused.launch.text)
    log = _last_log(world)
    assert "no Courseport course is linked yet in context course-101" in log.cause
    assert "Link Selection or Assignment Selection" in log.fix

    # Content selection added the course (its link carries the course's id) and an activity; someone opened them.
    for link_id, uuid in (("link-course", world.course_uuid), ("link-activity", world.activity_uuid)):
        opened = world.browser().launch(world.platform, world.link(sub="s-first", resource_uuid=uuid,
                                                                   resource_link_id=link_id))
        assert opened.launch.status_code == 302
    student = _course_navigation(world, "s-nav")
    assert student.launch.status_code == 302
    assert student.launch.headers["Location"] == f"/course/{world.course_id}"
    with world.context():
        link = db.session.execute(select(ResourceLink).where(
            ResourceLink.resource_link_id == "nav-course-101")).scalar_one()
        assert link.published_resource_id == world.course_resource_id

    # Another platform course has nothing linked: refused, not opened on the first course.
    assert _course_navigation(world, "s-nav", context_id="course-202").launch.status_code == 400

    # Two courses linked in one context: course navigation cannot choose.
    with world.context():
        other = factories.make_resource(factories.make_course("CHEM1", "Chemistry"))
        other_uuid = other.uuid
    assert world.browser().launch(world.platform, world.link(sub="s-first", resource_uuid=other_uuid,
                                                             resource_link_id="link-chem")).launch.status_code == 302
    ambiguous = _course_navigation(world, "s-nav")
    assert ambiguous.launch.status_code == 400
    assert "The custom claim field 'id' is required" in html.unescape(ambiguous.launch.text)
    assert "several Courseport courses are linked in context course-101" in _last_log(world).cause
