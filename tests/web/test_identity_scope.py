"""An LMS identity belongs to the credential that proved it: an LTI 1.1 user_id to the consumer key together with
the secret that signed the launch, an LTI 1.3 subject to its registration's platform. Holding another resource's
secret, or registering a second client under the same issuer, never signs anyone in as those users."""
from __future__ import annotations

import html
import json
from typing import Iterator

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LtiIdentity, PlatformRegistration, User
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch
from tests.e2e.lti_launcher import INSTRUCTOR, LEARNER, LaunchPlatform, launch_in_test_client
from tests.e2e.platform_server import PlatformServer
from tests.helpers import CSRF_RE, login

BASE = "http://127.0.0.1:5000"
FORM = "application/x-www-form-urlencoded"


def _token(client, path: str) -> str:
    return CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)


def _signed_in_id(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def _legacy_launch(client, resource_id: int, key: str, secret: str, **params: str):
    body = sign_launch(f"{BASE}/lti/v1/launch/{resource_id}", key, secret, launch_params(**params))
    return client.post(f"/lti/v1/launch/{resource_id}", data=body, content_type=FORM)


def _link_on_welcome(client, welcome: str, username: str) -> None:
    linked = client.post(welcome + "?action=login", data={"csrf_token": _token(client, welcome),
                                                          "username": username, "password": factories.PASSWORD})
    assert linked.status_code == 302, linked.get_data(as_text=True)


@pytest.fixture
def legacy_pair(app):
    """LMS Y's resource (a generated secret) and the resource teacher1 published with a secret of their choosing."""
    course = factories.make_course("BIO", "Biology")
    genuine = factories.make_resource(course, legacy=True)
    attacker = factories.make_resource(factories.make_course("ART", "Art"), legacy=True,
                                       secret="AttackerChosenSecret123")
    return genuine, attacker


def test_another_resources_secret_cannot_sign_in_as_a_linked_lti11_teacher(app, legacy_pair):
    genuine, attacker = legacy_pair
    teacher2 = factories.make_user("teacher2")
    factories.make_user("teacher1")
    victim_browser = app.test_client()
    welcome = _legacy_launch(victim_browser, genuine.id, "lms-y-key", genuine.secret, user_id="y-teacher-42",
                             roles="Instructor")
    assert welcome.status_code == 302 and "/lti/account/" in welcome.headers["Location"]
    _link_on_welcome(victim_browser, welcome.headers["Location"], "teacher2")
    again = _legacy_launch(app.test_client(), genuine.id, "lms-y-key", genuine.secret, user_id="y-teacher-42",
                           roles="Instructor")
    assert again.headers["Location"] == f"/course/{genuine.course_id}"  # the link works for its own credential

    forger = app.test_client()
    forged = _legacy_launch(forger, attacker.id, "lms-y-key", "AttackerChosenSecret123", user_id="y-teacher-42",
                            roles="Instructor")
    assert forged.status_code == 302 and "/lti/account/" in forged.headers["Location"]  # a stranger: asked
    assert _signed_in_id(forger) is None
    assert not _signed_in_id(forger) or not _signed_in_id(forger).startswith(f"{teacher2.id}.")
    assert forger.get(f"/course/{genuine.course_id}").status_code in (302, 403)


def test_another_resources_secret_gets_its_own_learner_account(app, legacy_pair):
    genuine, attacker = legacy_pair
    first = _legacy_launch(app.test_client(), genuine.id, "lms-y-key", genuine.secret, user_id="y-student-7")
    assert first.status_code == 302
    forged = _legacy_launch(app.test_client(), attacker.id, "lms-y-key", "AttackerChosenSecret123",
                            user_id="y-student-7")
    assert forged.status_code == 302
    db.session.expire_all()
    identities = db.session.scalars(select(LtiIdentity).order_by(LtiIdentity.id)).all()
    assert len(identities) == 2 and identities[0].user_id != identities[1].user_id
    assert {identity.issuer for identity in identities} == {"urn:lti11:lms-y-key"}
    assert identities[0].scope != identities[1].scope
    assert "AttackerChosenSecret123" not in identities[1].scope  # a fingerprint, never the secret


def test_the_same_key_and_secret_on_two_resources_is_one_identity(app):
    """Whoever holds a secret may sign for every resource that uses it: one credential, one identity."""
    shared = "SharedSecretForBothResources1"
    first = factories.make_resource(factories.make_course("A", "A"), legacy=True, secret=shared)
    second = factories.make_resource(factories.make_course("B", "B"), legacy=True, secret=shared)
    _legacy_launch(app.test_client(), first.id, "lms-z", shared, user_id="z-1")
    _legacy_launch(app.test_client(), second.id, "lms-z", shared, user_id="z-1")
    db.session.expire_all()
    assert len(db.session.scalars(select(LtiIdentity)).all()) == 1
    assert len(db.session.scalars(select(User)).all()) == 1


# LTI 1.3 -------------------------------------------------------------------------------------------------------
@pytest.fixture
def shared_issuer(app) -> Iterator[tuple[LaunchPlatform, LaunchPlatform, int, int]]:
    """Two registrations sharing one issuer (Canvas Cloud), each with its own client ID and keys."""
    with PlatformServer(client_id="school-a") as first, PlatformServer(client_id="school-b") as second:
        second.issuer = first.issuer
        platforms = []
        ids = []
        for server, name in ((first, "School A"), (second, "School B")):
            platform = LaunchPlatform(server, BASE)
            registration = factories.make_registration(name, issuer=server.issuer, client_id=server.client_id,
                                                       auth_request_url=platform.auth_url,
                                                       jwks_url=platform.jwks_url)
            platforms.append(platform)
            ids.append(registration.id)
        yield platforms[0], platforms[1], ids[0], ids[1]


def launch13(client, platform: LaunchPlatform, resource, sub: str, roles=INSTRUCTOR):
    return launch_in_test_client(client, platform, resource.uuid, sub, roles, BASE)


def test_a_second_registration_with_the_same_issuer_does_not_share_identities(app, shared_issuer):
    school_a, school_b, _a_id, b_id = shared_issuer
    resource = factories.make_resource(factories.make_course("HIS", "History"))
    teacher = factories.make_user("teacher2")
    browser = app.test_client()
    welcome = launch13(browser, school_a, resource, "t-42")
    assert "/lti/account/" in welcome.headers["Location"]
    _link_on_welcome(browser, welcome.headers["Location"], "teacher2")

    other = app.test_client()
    response = launch13(other, school_b, resource, "t-42")
    assert response.status_code == 302 and "/lti/account/" in response.headers["Location"]
    assert _signed_in_id(other) is None
    learner = launch13(app.test_client(), school_b, resource, "s-1", roles=LEARNER)
    assert learner.status_code == 302
    db.session.expire_all()
    bound = db.session.scalars(select(LtiIdentity).where(LtiIdentity.subject == "t-42")).all()
    assert [(identity.user_id, identity.registration_id) for identity in bound] == [(teacher.id, _a_id)]
    student = db.session.scalars(select(LtiIdentity).where(LtiIdentity.subject == "s-1")).one()
    assert student.registration_id == b_id


def test_an_admin_declares_a_re_registration_the_same_platform(app, client, admin, shared_issuer):
    school_a, school_b, a_id, b_id = shared_issuer
    resource = factories.make_resource(factories.make_course("HIS", "History"))
    teacher = factories.make_user("teacher2")
    browser = app.test_client()
    _link_on_welcome(browser, launch13(browser, school_a, resource, "t-42").headers["Location"], "teacher2")

    login(client, admin.username)
    view = client.get(f"/admin/lti/registrations/{b_id}").get_data(as_text=True)
    assert "Same platform as …" in view and "School A (client ID school-a)" in view
    confirm = client.get(f"/admin/lti/registrations/{b_id}/same-platform?platform={a_id}")
    assert "LMS users linked through either registration will sign in to the same accounts" in \
        html.unescape(confirm.get_data(as_text=True))
    unchosen = client.get(f"/admin/lti/registrations/{b_id}/same-platform?platform=x")
    assert unchosen.status_code == 400
    assert "Choose the registration this one is the same platform as." in unchosen.get_data(as_text=True)
    refused = client.post(f"/admin/lti/registrations/{b_id}/same-platform",
                          data={"csrf_token": _token(client, f"/admin/lti/registrations/{b_id}"), "platform": b_id})
    assert refused.status_code == 400 and "always the same platform as itself" in refused.get_data(as_text=True)
    joined = client.post(f"/admin/lti/registrations/{b_id}/same-platform",
                         data={"csrf_token": _token(client, f"/admin/lti/registrations/{b_id}"), "platform": a_id})
    assert joined.status_code == 302

    other = app.test_client()
    landed = launch13(other, school_b, resource, "t-42")
    assert landed.headers["Location"] == f"/course/{resource.course_id}"
    assert _signed_in_id(other).startswith(f"{teacher.id}.")


def test_same_platform_cli_needs_the_same_issuer_and_confirmation(app, runner):
    first = factories.make_registration("Old", issuer="https://canvas.example")
    second = factories.make_registration("New", issuer="https://canvas.example")
    foreign = factories.make_registration("Other", issuer="https://other.example")
    user = factories.make_user("carol")
    db.session.add(LtiIdentity(user_id=user.id, scope=f"lti13:{second.platform_key}", issuer=second.issuer,
                               subject="c-1", registration_id=second.id))
    db.session.commit()
    ids = [str(first.id), str(second.id), str(foreign.id)]

    unconfirmed = runner.invoke(args=["lti", "registrations", "same-platform", ids[1], ids[0], "--json"])
    assert unconfirmed.exit_code == 1 and "Add --yes to confirm." in json.loads(unconfirmed.output)["error"]
    other_issuer = runner.invoke(args=["lti", "registrations", "same-platform", ids[1], ids[2], "--yes", "--json"])
    assert other_issuer.exit_code == 1
    assert "Only registrations with the same issuer" in json.loads(other_issuer.output)["error"]
    done = runner.invoke(args=["lti", "registrations", "same-platform", ids[1], ids[0], "--yes", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"registration": second.id, "same_platform_as": first.id,
                                       "moved_identities": 1}
    db.session.expire_all()
    assert db.session.get(PlatformRegistration, second.id).platform_key == first.platform_key
    assert db.session.scalars(select(LtiIdentity)).one().scope == f"lti13:{first.platform_key}"


def test_joining_is_refused_while_a_user_is_linked_to_different_accounts_through_the_two(app, runner):
    first = factories.make_registration("Old", issuer="https://canvas.example")
    second = factories.make_registration("New", issuer="https://canvas.example")
    for registration, username in ((first, "carol"), (second, "carol2")):
        user = factories.make_user(username)
        db.session.add(LtiIdentity(user_id=user.id, scope=f"lti13:{registration.platform_key}",
                                   issuer=registration.issuer, subject="c-1", registration_id=registration.id))
    db.session.commit()
    refused = runner.invoke(args=["lti", "registrations", "same-platform", str(second.id), str(first.id), "--yes",
                                  "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.output)["error"] == (
        "1 LMS user(s) launched through both registrations and are linked to different accounts (for example user "
        "ID 'c-1'). Unlink one of the two identities in Users first.")
    db.session.expire_all()
    assert db.session.get(PlatformRegistration, second.id).platform_key != first.platform_key
    assert len(db.session.scalars(select(LtiIdentity)).all()) == 2
    shown = json.loads(runner.invoke(args=["lti", "registrations", "show", str(second.id), "--json"]).output)
    assert shown["same_platform_as"] == []
