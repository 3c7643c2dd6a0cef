"""Legacy member synchronisation against a consumer that verifies every signed request: the LTI 1.1
memberships extension and the LTI 2 memberships service, provisioning modes, enrolment, unenrolment and the
empty-roster safety, and failures retried like grade jobs."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.jobs.worker import run_due
from app.lti.identity import credential_scope
from app.models import Enrolment, Lti11Consumer, LtiIdentity, LtiUser, RoleAssignment, SyncJob, User
from app.models.jobs import JOB_RUNNING
from app.services.sync import queueing
from app.services.legacy.launch import lti11_username
from tests import factories
from tests.e2e.legacy_consumer import lti11_members_xml

KEY = "lms-key"


@pytest.fixture
def world(app, consumer):
    """A course resource with one learner who launched earlier (bound, enrolled, with the memberships service)."""
    resource = factories.make_resource(factories.make_course("BIO", "Biology"), legacy=True)
    consumer.secrets[KEY] = resource.secret
    learner = User(username=lti11_username(KEY, "old-1"), first_name="Old", last_name="Learner",
                   email="old@example.org", auth_method="lti")
    db.session.add(learner)
    db.session.flush()
    db.session.add(LtiIdentity(user_id=learner.id, scope=credential_scope(KEY, resource.secret),
                               issuer=f"urn:lti11:{KEY}", subject="old-1"))
    enrolment = Enrolment(course_id=resource.course_id, user_id=learner.id, published_resource_id=resource.id)
    db.session.add(enrolment)
    db.session.flush()
    db.session.add(RoleAssignment(enrolment_id=enrolment.id, user_id=learner.id, course_id=resource.course_id,
                                  role="student"))
    db.session.add(LtiUser(user_id=learner.id, published_resource_id=resource.id, subject="old-1",
                           consumer_key=KEY, memberships_url=f"{consumer.url}/memberships",
                           memberships_id="roster-7"))
    db.session.add(Lti11Consumer(published_resource_id=resource.id, consumer_key=KEY, name="Test LMS"))
    db.session.commit()
    return {"resource": resource, "learner": learner}


def _sync(resource) -> SyncJob:
    assert queueing.queue_member_syncs(resource.id) == 1
    db.session.commit()
    run_due()
    db.session.expire_all()
    return db.session.scalars(db.select(SyncJob)).one()


def _enrolled() -> dict[str, str]:
    db.session.expire_all()
    return {user.username: role for user, role in db.session.execute(
        db.select(User, RoleAssignment.role).join(RoleAssignment, RoleAssignment.user_id == User.id))}


def test_lti11_roster_creates_enrols_skips_prompt_modes_and_unenrols_the_missing(world, consumer):
    consumer.members_xml = lti11_members_xml([
        {"user_id": "new-2", "roles": "Learner", "person_name_given": "Nia", "person_name_family": "New",
         "person_contact_email_primary": "nia@lms.example.org"},
        {"user_id": "teach-3", "roles": "urn:lti:role:ims/lis/Instructor", "person_name_given": "Tess"},
    ])
    job = _sync(world["resource"])
    assert job.status == "done"
    [request] = [item for item in consumer.received if item.path == "/memberships"]
    assert request.verified and request.consumer_key == KEY
    assert (request.params["lti_message_type"], request.params["lti_version"], request.params["id"]) == (
        "basic-lis-readmembershipsforcontext", "LTI-1p0", "roster-7")
    new_name = lti11_username(KEY, "new-2")
    assert _enrolled() == {new_name: "student"}  # old-1 left the roster; teach-3 waits for the Welcome page
    created = db.session.scalar(db.select(User).where(User.username == new_name))
    assert (created.first_name, created.last_name, created.email) == ("Nia", "New", "nia@lms.example.org")
    assert db.session.get(User, world["learner"].id) is not None  # accounts are kept
    assert (job.result["enrolled"], job.result["unenrolled"], job.result["skipped"]) == (1, 1, 1)
    assert ("Skipping account creation for member 'teach-3'. This member is not eligible for automatic creation "
            "due to the current account provisioning mode." in job.result["messages"])
    assert "Completed - Synced 2 members for the resource link roster-7." in job.result["messages"]
    assert job.last_error is None


def test_an_empty_roster_unenrols_no_one(world, consumer):
    consumer.members_xml = lti11_members_xml([])
    job = _sync(world["resource"])
    assert "Skipping unenrolment - the platform returned no members." in job.result["messages"]
    assert _enrolled() == {world["learner"].username: "student"}


def test_a_failing_consumer_is_retried_like_grade_jobs(world, consumer):
    consumer.memberships_status = 503
    job = _sync(world["resource"])
    assert (job.status, job.attempts, job.last_http_status) == ("pending", 1, 503)
    assert job.last_error == "Skipping - Membership service request failed. (HTTP 503)"
    assert _enrolled() == {world["learner"].username: "student"}


def test_lti2_roster_uses_the_profile_template_and_the_registered_secret(world, consumer):
    resource = world["resource"]
    consumer.secrets["proxy-guid"] = "s" * 32
    db.session.add(Lti11Consumer(published_resource_id=resource.id, consumer_key="proxy-guid", secret="s" * 32,
                                 lti_version="LTI-2p0", profile=consumer.profile()))
    lti_user = db.session.scalars(db.select(LtiUser)).one()
    lti_user.consumer_key, lti_user.memberships_url, lti_user.memberships_id = "proxy-guid", None, None
    lti_user.context_id = "course-9"
    db.session.execute(db.update(LtiIdentity).values(issuer="urn:lti11:proxy-guid",
                                                     scope=credential_scope("proxy-guid", "s" * 32)))
    db.session.commit()
    member = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
    consumer.members_pages = [
        {"pageOf": {"membershipSubject": {"membership": [
            {"status": "Active", "role": [member + "Learner"], "member": {"userId": "old-1", "givenName": "Old"}},
            {"status": "Inactive", "role": [member + "Learner"], "member": {"userId": "gone-5"}}]}}},
        {"pageOf": {"membershipSubject": {"membership": [
            {"role": [member + "Learner"], "member": {"userId": "p2-6", "givenName": "Pat", "familyName": "Two"}}]}}},
    ]
    job = _sync(resource)
    assert job.status == "done", job.last_error
    paths = [item.path for item in consumer.received]
    assert paths == ["/memberships/CourseSection/course-9", "/memberships/CourseSection/course-9?page=1"]
    assert all(item.verified and item.consumer_key == "proxy-guid" for item in consumer.received)
    assert consumer.received[0].headers["Accept"] == "application/vnd.ims.lis.v2.membershipcontainer+json"
    assert _enrolled() == {world["learner"].username: "student", lti11_username("proxy-guid", "p2-6"): "student"}
    assert job.result["enrolled"] == 1 and job.result["unenrolled"] == 0


def test_a_roster_speaks_only_for_the_users_of_its_own_key_and_secret(world, consumer):
    """A user bound through another resource's secret for the same key is a stranger to this roster: it is not
    enrolled, and its name is not taken from this roster."""
    other = User(username="other-account", first_name="Kept", last_name="Name", email="", auth_method="lti")
    db.session.add(other)
    db.session.flush()
    db.session.add(LtiIdentity(user_id=other.id, scope=credential_scope(KEY, "AnotherResourcesSecret1"),
                               issuer=f"urn:lti11:{KEY}", subject="old-1-elsewhere"))
    db.session.commit()
    consumer.members_xml = lti11_members_xml([
        {"user_id": "old-1", "roles": "Learner"},
        {"user_id": "old-1-elsewhere", "roles": "Learner", "person_name_given": "Renamed"},
    ])
    job = _sync(world["resource"])
    assert job.status == "done"
    assert _enrolled() == {world["learner"].username: "student",
                           lti11_username(KEY, "old-1-elsewhere"): "student"}
    assert db.session.get(User, other.id).first_name == "Kept"


def test_a_sweep_leaves_a_running_member_sync_alone_but_sync_now_queues_its_successor(world):
    resource = world["resource"]
    assert queueing.queue_member_syncs() == 1
    job = db.session.scalars(db.select(SyncJob)).one()
    job.status = JOB_RUNNING
    db.session.commit()
    assert queueing.queue_member_syncs() == 0
    assert queueing.queue_member_syncs(resource.id) == 1
