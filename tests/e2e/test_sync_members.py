"""Member sync end to end against the independent test platform's NRPS service."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from app.extensions import db
from app.jobs import worker
from app.lti.identity import credential_scope
from app.models import (
    Enrolment, LtiIdentity, LtiUser, LtiUserResourceLink, PlatformRegistration, PublishedResource, ResourceLink,
    RoleAssignment, SyncJob, User,
)
from app.models.base import utcnow
from app.models.tools import MEMBER_SYNC_ENROL, MEMBER_SYNC_UNENROL
from app.services.sync import queueing
from app.services.platforms.settings import save_lti_settings
from tests.e2e.ags_platform import MEMBERSHIPS, AgsPlatform, member
from tests.factories import enrol, make_activity, make_course, make_resource, make_user
from tests.postgres import BOTH_DATABASES
from tests.sync_factories import link_user, make_link, make_platform_registration, platform  # noqa: F401

NRPS_ACCEPT = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


@dataclass
class Scene:
    resource: PublishedResource
    registration: PlatformRegistration
    link: ResourceLink


def _scene(platform: AgsPlatform, activity: bool = False, **settings) -> Scene:
    course = make_course("ROSTER", "Roster course")
    target = make_activity(course, "page", "Welcome") if activity else None
    resource = make_resource(course, target, **settings)
    registration = make_platform_registration(platform, name="Big LMS")
    link = make_link(resource, registration, rlid="rl-main", memberships_url=platform.memberships_url())
    return Scene(resource, registration, link)


def _run(resource: PublishedResource) -> SyncJob:
    assert queueing.queue_member_syncs(resource.id) == 1
    db.session.commit()
    worker.run_due()
    db.session.expire_all()
    return db.session.execute(db.select(SyncJob).order_by(SyncJob.id.desc())).scalars().first()


def _enrolled(resource: PublishedResource) -> dict[str, tuple[str, int | None]]:
    """username → (role, activity id) of the enrolments made through the resource."""
    rows = db.session.execute(
        db.select(User.username, RoleAssignment.role, RoleAssignment.activity_id)
        .join(Enrolment, Enrolment.user_id == User.id)
        .join(RoleAssignment, RoleAssignment.enrolment_id == Enrolment.id)
        .where(Enrolment.published_resource_id == resource.id)).all()
    return {username: (role, activity_id) for username, role, activity_id in rows}


def _username(registration: PlatformRegistration, subject: str) -> str:
    return "lti13_" + hashlib.sha1(f"{registration.issuer}_{subject}".encode()).hexdigest()


@BOTH_DATABASES
def test_a_2000_member_paged_roster_creates_enrols_and_unenrols_per_mode(app, platform):
    scene = _scene(platform)
    teacher = make_user("known-teacher", first_name="Kim", last_name="Known")  # a linked manual account
    link_user(scene.resource, scene.link, teacher, subject="t-0")
    leaver = make_user("leaver")
    link_user(scene.resource, scene.link, leaver, subject="gone-1")
    enrol_through = Enrolment(course_id=scene.resource.course_id, user_id=leaver.id,
                              published_resource_id=scene.resource.id, time_start=utcnow())
    db.session.add(enrol_through)
    db.session.flush()
    db.session.add(RoleAssignment(enrolment_id=enrol_through.id, user_id=leaver.id,
                                  course_id=scene.resource.course_id, role="student"))
    db.session.commit()
    roster = [member("t-0", instructor=True, given_name="Changed", family_name="Name"),
              *[member(f"t-{n}", instructor=True, given_name="Teacher", family_name=str(n)) for n in range(1, 10)],
              *[member(f"s-{n}", given_name=f"Stu{n}", family_name="Dent", email=f"s{n}@school.example.org")
                for n in range(1987)],
              member("s-noname"), member("s-bademail", name="Only Name", email="not an email"),
              member("s-inactive", status="Inactive")]
    assert len(roster) == 2000
    platform.set_roster(roster, rlid="rl-main")

    job = _run(scene.resource)

    pages = platform.requests_to(r"/memberships$")
    assert len(pages) == 20
    assert pages[0].query == {"rlid": "rl-main"}
    assert pages[1].query["page"] == "2" and pages[-1].query["page"] == "20"
    assert all(page.headers["Accept"] == NRPS_ACCEPT for page in pages)
    assert platform.issued[0]["requested_scope"] == MEMBERSHIPS

    enrolled = _enrolled(scene.resource)
    assert len(enrolled) == 1990  # 1,989 learners created + the known teacher; the 9 new teachers prompt (mode 2)
    assert enrolled["known-teacher"] == ("teacher", None)
    assert enrolled[_username(scene.registration, "s-5")] == ("student", None)
    assert "leaver" not in enrolled and _username(scene.registration, "s-inactive") not in enrolled
    assert db.session.execute(db.select(User).where(User.username == "leaver")).scalar() is not None  # kept

    created = db.session.execute(db.select(User).where(User.username == _username(scene.registration, "s-5"))
                                 ).scalar_one()
    assert (created.first_name, created.last_name, created.email, created.auth_method, created.password_hash) == (
        "Stu5", "Dent", "s5@school.example.org", "lti", None)
    fallback = db.session.execute(db.select(User).where(
        User.username == _username(scene.registration, "s-bademail"))).scalar_one()
    assert (fallback.first_name, fallback.last_name, fallback.email) == (
        "Only Name", "Big LMS", f"{fallback.username}@example.com")
    bare = db.session.execute(db.select(User).where(
        User.username == _username(scene.registration, "s-noname"))).scalar_one()
    assert (bare.first_name, bare.last_name) == ("s-noname", "Big LMS")
    assert db.session.get(User, teacher.id).first_name == "Kim"  # manual accounts are never modified
    identity = db.session.execute(db.select(LtiIdentity).where(LtiIdentity.subject == "s-5")).scalar_one()
    assert (identity.issuer, identity.user_id) == (platform.issuer, created.id)
    assert db.session.execute(db.select(db.func.count(LtiUserResourceLink.id)).where(
        LtiUserResourceLink.resource_link_id == scene.link.id)).scalar() == 1990

    assert job.status == "done"
    assert {k: job.result[k] for k in ("processed", "enrolled", "unenrolled", "skipped", "created")} == {
        "processed": 1999, "enrolled": 1990, "unenrolled": 1, "skipped": 9, "created": 1989}
    messages = job.result["messages"]
    assert ("Skipping account creation for member 't-1'. This member is not eligible for automatic creation due "
            "to the current account provisioning mode.") in messages
    assert "Skipped profile sync for user 't-0'. The user does not belong to the LTI auth method." in messages
    assert "Completed - Synced 1999 members for the resource link rl-main." in messages
    assert job.result["message"] == "Processed 1999 users; enrolled 1990 members; unenrolled 1 members."

    # A second run finds everyone in place: nothing created, nothing enrolled twice.
    again = _run(scene.resource)
    assert (again.result["created"], again.result["enrolled"], again.result["unenrolled"]) == (0, 0, 0)
    assert len(_enrolled(scene.resource)) == 1990


def test_enrol_only_mode_keeps_missing_users_and_unenrol_only_mode_creates_no_one(app, platform):
    scene = _scene(platform, member_sync_mode=MEMBER_SYNC_ENROL)
    stayer = make_user("stayer")
    link_user(scene.resource, scene.link, stayer, subject="old")
    platform.set_roster([member("new-1")])
    _run(scene.resource)
    assert set(_enrolled(scene.resource)) == {_username(scene.registration, "new-1")}
    assert db.session.execute(db.select(LtiUser).where(LtiUser.user_id == stayer.id)).scalar() is not None

    scene.resource.member_sync_mode = MEMBER_SYNC_UNENROL
    db.session.commit()
    platform.set_roster([member("new-2")])
    job = _run(scene.resource)
    assert _enrolled(scene.resource) == {}  # new-1 is gone from the roster; new-2 gets no account
    assert db.session.execute(db.select(User).where(User.username == _username(scene.registration, "new-2"))
                              ).scalar() is None
    assert job.result["unenrolled"] == 1


def test_an_empty_roster_unenrols_no_one(app, platform):
    scene = _scene(platform)
    platform.set_roster([member("a"), member("b")])
    _run(scene.resource)
    assert len(_enrolled(scene.resource)) == 2
    platform.set_roster([])
    job = _run(scene.resource)
    assert len(_enrolled(scene.resource)) == 2
    assert "Skipping unenrolment - the platform returned no members." in job.result["messages"]


def test_link_level_failure_falls_back_to_the_context_and_both_failing_is_retried(app, platform):
    scene = _scene(platform)
    platform.refused_links.add("rl-main")  # the platform refuses rlid (403)
    platform.set_roster([member("ctx-1")])
    job = _run(scene.resource)
    requests = platform.requests_to(r"/memberships$")
    assert [r.query.get("rlid") for r in requests] == ["rl-main", None]
    assert "Link-level memberships request failed. Making context-level memberships request" in job.result["messages"]
    assert set(_enrolled(scene.resource)) == {_username(scene.registration, "ctx-1")}

    platform.fail(r"/memberships$", 500, times=2)
    job = _run(scene.resource)
    assert (job.status, job.last_http_status) == ("pending", 500)
    assert job.last_error == "Skipping - Names and Roles service request failed: HTTP 500."
    assert len(_enrolled(scene.resource)) == 1


def test_paging_stops_when_the_platform_repeats_its_next_page(app, platform):
    scene = _scene(platform)
    platform.member_page_size = 2
    platform.set_roster([member(f"m-{n}") for n in range(10)])
    platform.stuck_next_url = platform.memberships_url() + "?page=2&limit=2"
    _run(scene.resource)
    assert len(platform.requests_to(r"/memberships$")) == 2  # the first page, then page 2 once
    assert len(_enrolled(scene.resource)) == 4


def test_links_without_names_and_roles_are_skipped(app, platform):
    scene = _scene(platform)
    scene.link.nrps_versions = ["1.0"]
    db.session.commit()
    job = _run(scene.resource)
    assert job.result["messages"][0] == "Skipping - No names and roles service found."
    assert platform.requests_to(r"/memberships") == []


def test_activity_resources_enrol_at_the_activity_with_the_mapped_role(app, platform):
    scene = _scene(platform, activity=True, role_learner="noneditingteacher", provisioning_mode_instructor=1)
    platform.set_roster([member("s"), member("t", instructor=True)])
    _run(scene.resource)
    activity_id = scene.resource.activity_id
    assert _enrolled(scene.resource) == {_username(scene.registration, "s"): ("noneditingteacher", activity_id),
                                         _username(scene.registration, "t"): ("teacher", activity_id)}


@BOTH_DATABASES
def test_lti_accounts_follow_profile_changes_and_a_changed_role_is_replaced(app, platform):
    scene = _scene(platform)
    platform.set_roster([member("p", given_name="Pat", family_name="Old", email="pat@example.org")])
    _run(scene.resource)
    platform.set_roster([member("p", instructor=True, given_name="Pat", family_name="New",
                                email="pat.new@example.org")])
    _run(scene.resource)
    user = db.session.execute(db.select(User).where(User.username == _username(scene.registration, "p"))
                              ).scalar_one()
    assert (user.last_name, user.email) == ("New", "pat.new@example.org")
    assert _enrolled(scene.resource)[user.username] == ("teacher", None)


def test_limits_and_the_account_creation_setting_skip_members_silently(app, platform):
    scene = _scene(platform, max_enrolled=2)
    platform.set_roster([member(f"x-{n}") for n in range(4)])
    job = _run(scene.resource)
    assert len(_enrolled(scene.resource)) == 2 and job.result["skipped"] == 2

    later = _scene_with_window(platform)
    job = _run(later)
    assert _enrolled(later) == {} and job.result["skipped"] == 4

    save_lti_settings({"allow_account_creation": False})
    db.session.commit()
    platform.set_roster([member("y")])
    scene.resource.max_enrolled = 0
    db.session.commit()
    job = _run(scene.resource)
    assert ("Skipping account creation for member 'y'. Account creation is currently prohibited on this site."
            in job.result["messages"])


def _scene_with_window(platform: AgsPlatform) -> PublishedResource:
    course = make_course("LATER", "Later course")
    resource = make_resource(course, enrol_start=utcnow() + timedelta(days=1))
    registration = db.session.execute(db.select(PlatformRegistration)).scalars().first()
    make_link(resource, registration, rlid="rl-later", memberships_url=platform.memberships_url())
    return resource


def test_a_migrated_lti11_member_is_bound_to_the_existing_account(app, platform):
    scene = _scene(platform)
    scene.link.deployment.legacy_consumer_key = "old-key"
    scene.link.deployment.legacy_scope = credential_scope("old-key", "the-proven-secret")
    veteran = make_user("veteran")
    db.session.add(LtiIdentity(user_id=veteran.id, scope=credential_scope("old-key", "the-proven-secret"),
                               issuer="urn:lti11:old-key", subject="u-1101"))
    enrol(veteran, make_course("OTHER"), "student")
    db.session.commit()
    platform.set_roster([member("new-sub", lti11_legacy_user_id="u-1101")])
    _run(scene.resource)
    assert _enrolled(scene.resource) == {"veteran": ("student", None)}
    identity = db.session.execute(db.select(LtiIdentity).where(LtiIdentity.subject == "new-sub")).scalar_one()
    assert identity.user_id == veteran.id


def test_a_revoked_token_during_paging_is_refreshed_once_and_deleted_members_leave(app, platform):
    scene = _scene(platform)
    platform.member_page_size = 2
    platform.set_roster([member(f"p-{n}") for n in range(5)])
    _run(scene.resource)
    assert len(_enrolled(scene.resource)) == 5
    platform.revoke_tokens()
    platform.set_roster([member(f"p-{n}") for n in range(4)] + [member("p-4", status="Deleted")])

    job = _run(scene.resource)
    assert job.status == "done"
    assert len(platform.issued) == 2  # one refresh
    assert [r.status for r in platform.requests_to(r"/memberships$")].count(401) == 1
    assert set(_enrolled(scene.resource)) == {_username(scene.registration, f"p-{n}") for n in range(4)}
    assert job.result["unenrolled"] == 1
