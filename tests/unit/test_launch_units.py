"""Pieces of the launch that are rules rather than flows: keyset cache lifetimes and algorithm inference,
message substitution, instructor detection, account fields, single-use storage, enrolment roles and limits."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.lti.errors import REASONS, LtiError, launch_error
from app.lti.launch_data import LaunchData
from app.lti.platform_keys import cache_lifetime, compatible
from app.lti.storage import DbLaunchDataStorage
from app.models import Enrolment, RoleAssignment
from app.models.base import utcnow
from app.services.launch import enrolment as lti_enrolment
from app.services.launch import provisioning
from tests import factories
from tests.postgres import BOTH_DATABASES

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("headers, seconds", [
    ({}, 3600),
    ({"Cache-Control": "public, max-age=600"}, 600),
    ({"Cache-Control": "max-age=5"}, 60),
    ({"Cache-Control": "max-age=999999"}, 86400),
    ({"Cache-Control": "no-store"}, 60),
    ({"Expires": format_datetime(NOW + timedelta(hours=2), usegmt=True)}, 7200),
    ({"Expires": "not a date"}, 60),
    ({"Cache-Control": "max-age=120", "Expires": format_datetime(NOW + timedelta(hours=5), usegmt=True)}, 120),
])
def test_keyset_cache_lifetime_follows_headers_within_bounds(headers, seconds):
    assert cache_lifetime(headers, NOW) == seconds


@pytest.mark.parametrize("jwk, alg, expected", [
    ({"kty": "RSA"}, "RS256", True),
    ({"kty": "RSA"}, "RS512", True),
    ({"kty": "RSA"}, "ES256", False),
    ({"kty": "EC", "crv": "P-256"}, "ES256", True),
    ({"kty": "EC", "crv": "P-384"}, "ES256", False),
    ({"kty": "EC", "crv": "P-521"}, "ES512", True),
    ({"kty": "RSA", "alg": "RS384"}, "RS256", False),
    ({"kty": "RSA", "alg": "RS384"}, "RS384", True),
    ({"kty": "RSA", "use": "enc"}, "RS256", False),
    ({"kty": "oct"}, "HS256", False),
])
def test_jwk_algorithm_comes_from_alg_or_kty_and_crv(jwk, alg, expected):
    assert compatible(jwk, alg) is expected


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_refusal_substitutes_its_placeholders_even_without_values(reason):
    error = launch_error(reason)
    assert isinstance(error, LtiError) and error.status == REASONS[reason].status
    for text in (error.message, error.cause, error.fix):
        assert text and "{" not in text and "}" not in text


def test_registration_message_names_issuer_and_client_id():
    error = launch_error("registration_not_found", iss="https://lms.example", client_id=None, detail="")
    assert error.message.startswith("LTI 1.3 Registration not found for Issuer https://lms.example and Client ID "
                                    "(N/A).")
    assert error.details["iss"] == "https://lms.example"


@pytest.mark.parametrize("roles, expected", [
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"], True),
    (["ContentDeveloper"], True),
    (["Instructor#TeachingAssistant"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], False),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"], False),
    ([], False),
])
def test_instructor_detection(roles, expected):
    assert provisioning.is_instructor(roles) is expected


@pytest.mark.parametrize("roles, expected", [
    ("Instructor", True), ("urn:lti:role:ims/lis/TeachingAssistant", True), ("learner,ContentDeveloper", True),
    ("urn:lti:sysrole:ims/lis/SysAdmin", True), ("urn:lti:instrole:ims/lis/Administrator", True),
    ("Learner", False), ("urn:lti:role:ims/lis/Mentor", False), ("", False),
])
def test_lti11_instructor_detection(roles, expected):
    assert provisioning.is_instructor_lti11(roles) is expected


def _launch(**fields) -> LaunchData:
    values = {"launch_id": "l", "registration_id": 1, "deployment_pk": 1, "issuer": "https://lms.example",
              "client_id": "c", "deployment_id": "d", "message_type": "LtiResourceLinkRequest", "subject": "u-42",
              "roles": [], "cookie_method": "cookie", "clock_skew": 0, "identity_scope": "lti13:test-platform"}
    return LaunchData(**{**values, **fields})


def test_new_account_fields_and_fallbacks(app):
    registration = factories.make_registration("Canvas Cloud")
    username = provisioning.lti13_username("https://lms.example", "u-42")
    assert username == "lti13_" + hashlib.sha1(b"https://lms.example_u-42").hexdigest()
    full = provisioning.launch_profile(_launch(given_name="Ann", family_name="Lee", name="Ann Lee",
                                               email="ann@school.example"), registration, username)
    assert (full.first_name, full.last_name, full.email) == ("Ann", "Lee", "ann@school.example")
    by_name = provisioning.launch_profile(_launch(name="Ann Lee", email="nope"), registration, username)
    assert (by_name.first_name, by_name.last_name, by_name.email) == \
        ("Ann Lee", "Canvas Cloud", f"{username}@example.com")
    bare = provisioning.launch_profile(_launch(), registration, username)
    assert bare.first_name == "u-42"


def test_account_creation_copies_the_resource_defaults_and_reuses_an_existing_binding(app):
    registration = factories.make_registration()
    resource = factories.make_resource(factories.make_course(), city="Ghent", country="BE", institution="Atheneum",
                                       email_visibility=0, timezone="Europe/Brussels", lang="en")
    launch = _launch(issuer=registration.issuer, given_name="Ann")
    user = provisioning.create_for_launch(launch, registration, resource, allowed=True)
    assert (user.city, user.country, user.institution, user.email_visibility, user.timezone, user.auth_method) == \
        ("Ghent", "BE", "Atheneum", 0, "Europe/Brussels", "lti")
    again = provisioning.create_for_launch(launch, registration, resource, allowed=False)
    assert again.id == user.id  # already bound: no second account, creation setting irrelevant
    with pytest.raises(LtiError) as refused:
        provisioning.create_for_launch(_launch(issuer=registration.issuer, subject="other"), registration,
                                       resource, allowed=False)
    assert refused.value.message == "Account creation is currently prohibited on this site."


def test_an_unlinked_accounts_username_is_not_taken_over(app):
    registration = factories.make_registration()
    resource = factories.make_resource(factories.make_course())
    launch = _launch(issuer=registration.issuer)
    first = provisioning.create_for_launch(launch, registration, resource, allowed=True)
    db.session.delete(first.identities[0])  # an admin unlinked the identity
    db.session.flush()
    second = provisioning.create_for_launch(launch, registration, resource, allowed=True)
    assert second.id != first.id and second.username == first.username + "_2"


def test_storage_values_are_consumed_once_and_expire(app):
    storage = DbLaunchDataStorage()
    storage.set_value("state:a", {"nonce": "n"}, exp=60)
    storage.set_value("state:old", {"nonce": "n"}, exp=1)
    db.session.execute(db.text("UPDATE lti_storage_entry SET expires_at = '2000-01-01 00:00:00' "
                               "WHERE key = 'state:old'"))
    assert storage.get_value("state:a") == {"nonce": "n"} and storage.get_value("state:old") is None
    assert storage.consume("state:a") is True
    assert storage.consume("state:a") is False
    assert storage.consume("state:old") is False
    assert storage.take("state:a") is None


@BOTH_DATABASES
def test_a_key_is_claimed_once_and_stays_claimed_after_it_expires(app):
    storage = DbLaunchDataStorage()
    assert storage.claim("nonce:a", exp=60) is True
    assert storage.claim("nonce:a", exp=60) is False
    db.session.execute(db.text("UPDATE lti_storage_entry SET expires_at = '2000-01-01 00:00:00' "
                               "WHERE key = 'nonce:a'"))
    assert storage.claim("nonce:a", exp=60) is False  # until the maintenance sweep removes it


def test_enrolment_replaces_an_earlier_role_and_sets_the_duration(app):
    course = factories.make_course()
    activity = factories.make_activity(course)
    resource = factories.make_resource(course, activity, enrol_period=3600)
    user = factories.make_user()
    enrolment = db.session.get(Enrolment, lti_enrolment.enrol(user, resource, "student"))
    assert enrolment.time_end - enrolment.time_start == timedelta(hours=1)
    lti_enrolment.enrol(user, resource, "teacher")
    roles = db.session.execute(select(RoleAssignment).where(RoleAssignment.user_id == user.id)).scalars().all()
    assert [(role.role, role.activity_id) for role in roles] == [("teacher", activity.id)]


def test_an_elapsed_enrolment_duration_refuses_the_launch(app):
    resource = factories.make_resource(factories.make_course(), enrol_period=60)
    user = factories.make_user()
    enrolment = db.session.get(Enrolment, lti_enrolment.enrol(user, resource, "student"))
    enrolment.time_end = utcnow() - timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(LtiError) as refused:
        lti_enrolment.check_limits(resource, user.id)
    assert (refused.value.status, refused.value.message) == (403, "Enrolment finished.")
