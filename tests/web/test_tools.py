"""Course page "Published as LTI tools", enable/disable/delete and who may do what."""
import re

import pytest

from app.extensions import db as _db
from app.models import (
    Deployment, Enrolment, Grade, Lti11Consumer, Lti11Nonce, LtiUser, LtiUserResourceLink, PublishedResource,
    ResourceLink, RoleAssignment, SyncJob, User,
)
from app.models.base import utcnow
from tests.factories import enrol, make_course, make_registration, make_resource, make_user
from tests.helpers import csrf_token, login, post_form
from tests.web.publishing_helpers import course_with_staff, form_payload

BASE = "http://127.0.0.1:5000"


@pytest.fixture
def setup(app):
    return course_with_staff()


def _tools(setup) -> str:
    return f"/course/{setup.course.id}/lti"


def _row(html: str, resource_id: int) -> str:
    match = re.search(rf'<tr id="resource-{resource_id}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row for resource {resource_id}"
    return match.group(0)


def test_empty_tabs(client, setup):
    login(client, setup.teacher.username)
    advantage = client.get(_tools(setup)).get_data(as_text=True)
    assert "<h1>Course: Physics 1</h1>" in advantage
    assert ">LTI Advantage</a>" in advantage and ">Legacy LTI (1.1/2.0)</a>" in advantage
    assert "<h2>Published content</h2>" in advantage
    assert ("A published resource or activity can be used in registered platforms via the content selection (deep "
            "linking) flow. Additionally, a resource link can be created manually in the platform by using the "
            "launch URL and the custom properties provided.") in advantage
    assert "No resources or activities are published yet" in advantage
    assert f'href="/course/{setup.course.id}/lti/new?legacy=0">Add</a>' in advantage
    legacy = client.get(_tools(setup) + "?tab=legacy").get_data(as_text=True)
    assert legacy.index("Legacy LTI (1.1/2.0) tools are deprecated. Content should now be shared using LTI "
                        "Advantage.") < legacy.index("<h2>Published tools</h2>")
    assert "A tool may be shared with another site by providing either launch details or a registration URL." in legacy
    assert "No tools provided" in legacy
    assert f'href="/course/{setup.course.id}/lti/new?legacy=1">Add</a>' in legacy


def test_lti_advantage_table_shows_launch_details(client, setup):
    course_resource = make_resource(setup.course)
    quiz_resource = make_resource(setup.course, setup.quiz, name="Quiz for Canvas")
    make_resource(setup.course, legacy=True)  # only on the other tab
    login(client, setup.teacher.username)
    html = client.get(_tools(setup)).get_data(as_text=True)
    assert html.count('<tr id="resource-') == 2
    first = _row(html, course_resource.id)
    assert "<strong>Physics 1</strong>" in first
    assert f'>{BASE}/lti/launch</textarea>' in first and f'>id={course_resource.uuid}</textarea>' in first
    assert ">Launch URL</label>" in first and ">Custom properties</label>" in first
    assert 'title="Copy to clipboard"' in first and 'data-copy-label="Launch URL"' in first
    assert "Grades: Waiting for the first launch" in first and "Users: Waiting for the first launch" in first
    for action in ("Delete", "Disable", "Edit"):
        assert f'aria-label="{action}"' in first
    assert "<strong>Quiz for Canvas</strong>" in _row(html, quiz_resource.id)
    assert ("The launch URL and custom properties are only required when manually configuring a resource link in the "
            "platform. Where possible, teachers should favour the content selection (deep linking) process for the "
            "creation of resource links.") in html
    assert html.index(f"resource-{course_resource.id}") < html.index(f"resource-{quiz_resource.id}")


def test_legacy_table_shows_cartridge_secret_launch_and_registration_urls(client, setup):
    resource = make_resource(setup.course, setup.page, legacy=True)
    login(client, setup.teacher.username)
    html = client.get(_tools(setup) + "?tab=legacy").get_data(as_text=True)
    row = _row(html, resource.id)
    assert "<strong>Reading list</strong>" in row
    token = resource.legacy_token
    assert f'>{BASE}/lti/v1/cartridge/{resource.id}/{token}.xml</textarea>' in row
    assert f'>{resource.secret}</textarea>' in row
    assert f'>{BASE}/lti/v1/launch/{resource.id}</textarea>' in row
    assert f'>{BASE}/lti/v2/register/{resource.id}/{token}</textarea>' in row
    assert "Consumer key: any value you choose (use a different key for each LMS)." in row
    assert '<label for="registration-url-' in row and 'class="visually-hidden">Registration URL</label>' in row
    assert ("A cartridge URL (also called configuration URL) plus secret or a launch URL are required for configuring "
            "the tool.") in html
    assert "If a registration URL (also called proxy URL) is used, then the tool is automatically configured." in html


def test_sync_column_counts_pending_and_failed_jobs(client, setup, db):
    busy = make_resource(setup.course, name="Busy")
    quiet = make_resource(setup.course, name="Quiet", grade_sync=False, member_sync=False)
    for index, (kind, status) in enumerate([("grade_push", "pending"), ("grade_push", "running"),
                                            ("grade_push", "failed"), ("member_sync", "failed"),
                                            ("grade_push", "done")]):
        db.session.add(SyncJob(kind=kind, dedupe_key=f"job-{index}", status=status, published_resource_id=busy.id))
    db.session.commit()
    login(client, setup.teacher.username)
    html = client.get(_tools(setup)).get_data(as_text=True)
    assert "Grades: 2 pending, 1 failed" in _row(html, busy.id)
    assert "Users: 1 failed" in _row(html, busy.id)
    assert "Grades: Off" in _row(html, quiet.id) and "Users: Off" in _row(html, quiet.id)


def test_fifty_per_page_in_creation_order(client, setup, db):
    resources = [make_resource(setup.course, name=f"Resource {index:02d}") for index in range(51)]
    login(client, setup.teacher.username)
    first = client.get(_tools(setup)).get_data(as_text=True)
    assert first.count('<tr id="resource-') == 50
    assert first.index("Resource 00") < first.index("Resource 49")
    assert "Page 1 of 2" in first
    second = client.get(_tools(setup) + "?page=2").get_data(as_text=True)
    assert second.count('<tr id="resource-') == 1 and f"resource-{resources[-1].id}" in second


def test_disable_and_enable(client, setup, db):
    resource = make_resource(setup.course)
    login(client, setup.teacher.username)
    response = post_form(client, f"{_tools(setup)}/{resource.id}/disable", token_from=_tools(setup))
    assert response.status_code == 302 and response.headers["Location"] == _tools(setup)
    html = client.get(_tools(setup)).get_data(as_text=True)
    assert "Published resource disabled." in html
    assert 'class="dimmed"' in _row(html, resource.id) and 'aria-label="Enable"' in _row(html, resource.id)
    db.session.expire_all()
    assert db.session.get(PublishedResource, resource.id).enabled is False
    post_form(client, f"{_tools(setup)}/{resource.id}/enable", token_from=_tools(setup))
    html = client.get(_tools(setup)).get_data(as_text=True)
    assert "Published resource enabled." in html and 'class="dimmed"' not in _row(html, resource.id)
    db.session.expire_all()
    assert db.session.get(PublishedResource, resource.id).enabled is True


def test_toggles_of_a_legacy_resource_return_to_the_legacy_tab(client, setup):
    resource = make_resource(setup.course, legacy=True)
    login(client, setup.teacher.username)
    response = post_form(client, f"{_tools(setup)}/{resource.id}/disable", token_from=_tools(setup))
    assert response.headers["Location"] == _tools(setup) + "?tab=legacy"


def test_toggle_without_csrf_is_refused(client, setup, db):
    resource = make_resource(setup.course)
    login(client, setup.teacher.username)
    assert client.post(f"{_tools(setup)}/{resource.id}/disable").status_code == 400
    db.session.expire_all()
    assert db.session.get(PublishedResource, resource.id).enabled is True


def test_deleted_activity_is_shown_and_cannot_be_enabled(client, setup, db):
    resource = make_resource(setup.course, setup.quiz, name="Old quiz link")
    from app.services.courses.content import delete_activity

    delete_activity(setup.quiz)
    db.session.commit()
    login(client, setup.teacher.username)
    html = client.get(_tools(setup)).get_data(as_text=True)
    row = _row(html, resource.id)
    assert "Deleted activity" in row and "Old quiz link" in row and 'class="dimmed"' in row
    assert 'aria-label="The activity shared by this instance has been deleted"' in row
    assert ("The activity shared by this instance has been deleted. You can select another activity to share by "
            "editing the instance or, if no longer required, you can simply delete the instance. Deleting the "
            "instance will remove any associated user enrolments.") in row
    assert 'aria-label="Enable"' not in row
    post_form(client, f"{_tools(setup)}/{resource.id}/enable", token_from=_tools(setup))
    db.session.expire_all()
    assert db.session.get(PublishedResource, resource.id).enabled is False


def _enrol_through(resource: PublishedResource, user: User, deployment: Deployment) -> None:
    """What a launch leaves behind: an LTI user, a resource link, the enrolment and role it made."""
    enrolment = Enrolment(course_id=resource.course_id, user_id=user.id, published_resource_id=resource.id)
    _db.session.add(enrolment)
    _db.session.flush()
    _db.session.add(RoleAssignment(enrolment_id=enrolment.id, user_id=user.id, course_id=resource.course_id,
                                   role="student"))
    link = ResourceLink(deployment_id=deployment.id, resource_link_id=f"rl-{resource.id}-{user.id}",
                        published_resource_id=resource.id)
    lti_user = LtiUser(user_id=user.id, published_resource_id=resource.id, subject=f"sub-{user.id}",
                       last_access_at=utcnow())
    _db.session.add_all([link, lti_user])
    _db.session.flush()
    _db.session.add(LtiUserResourceLink(lti_user_id=lti_user.id, resource_link_id=link.id))
    _db.session.add(SyncJob(kind="grade_push", dedupe_key=f"grade-{resource.id}-{user.id}",
                            published_resource_id=resource.id, user_id=user.id))
    _db.session.commit()


def test_delete_confirmation_texts(client, setup):
    empty = make_resource(setup.course, name="Nobody here")
    used = make_resource(setup.course, name="Busy one")
    deployment = make_registration().deployments[0]
    for index in range(3):
        _enrol_through(used, make_user(f"remote{index}"), deployment)
    login(client, setup.teacher.username)
    html = client.get(f"{_tools(setup)}/{empty.id}/delete").get_data(as_text=True)
    assert ('You are about to delete the published resource "Nobody here". Are you sure you want to continue?'
            in html)
    html = client.get(f"{_tools(setup)}/{used.id}/delete").get_data(as_text=True)
    assert ('You are about to delete the published resource "Busy one". All 3 users currently enrolled using this '
            'method will be unenrolled. Their accounts and grades are kept. Are you sure you want to continue?') in html
    assert ">Continue</button>" in html and f'href="{_tools(setup)}">Cancel</a>' in html


def test_delete_removes_what_was_made_through_the_resource_only(client, setup, db):
    doomed = make_resource(setup.course, legacy=True, name="Doomed")
    kept = make_resource(setup.course, name="Kept")
    deployment = make_registration().deployments[0]
    learner = make_user("learner")
    enrol(learner, setup.course, "student")  # a manual enrolment, which must survive
    _enrol_through(doomed, learner, deployment)
    _enrol_through(kept, learner, deployment)
    db.session.add(Grade(activity_id=setup.quiz.id, user_id=learner.id, value=7))
    db.session.add_all([Lti11Consumer(published_resource_id=doomed.id, consumer_key="only-doomed"),
                        Lti11Consumer(published_resource_id=doomed.id, consumer_key="shared-key"),
                        Lti11Consumer(published_resource_id=kept.id, consumer_key="shared-key"),
                        Lti11Nonce(consumer_key="only-doomed", nonce="n1", expires_at=utcnow()),
                        Lti11Nonce(consumer_key="shared-key", nonce="n2", expires_at=utcnow())])
    db.session.commit()
    doomed_id, kept_id, learner_id = doomed.id, kept.id, learner.id
    login(client, setup.teacher.username)
    response = post_form(client, f"{_tools(setup)}/{doomed_id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == _tools(setup) + "?tab=legacy"
    assert "Published resource deleted." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PublishedResource, doomed_id) is None
    for model in (Enrolment, ResourceLink, LtiUser, SyncJob, Lti11Consumer):
        assert db.session.query(model).filter_by(published_resource_id=doomed_id).count() == 0, model
    assert db.session.query(Enrolment).filter_by(published_resource_id=kept_id).count() == 1
    assert db.session.query(Enrolment).filter_by(published_resource_id=None, user_id=learner_id).count() == 1
    assert db.session.query(RoleAssignment).filter_by(user_id=learner_id).count() == 2
    assert db.session.query(LtiUserResourceLink).count() == 1
    assert db.session.query(SyncJob).count() == 1
    assert [nonce.consumer_key for nonce in db.session.query(Lti11Nonce)] == ["shared-key"]
    assert db.session.get(User, learner_id) is not None
    assert db.session.query(Grade).filter_by(user_id=learner_id).count() == 1


def test_cancelled_delete_keeps_the_resource(client, setup, db):
    resource = make_resource(setup.course)
    login(client, setup.teacher.username)
    client.get(f"{_tools(setup)}/{resource.id}/delete")
    db.session.expire_all()
    assert db.session.get(PublishedResource, resource.id) is not None


# ---- permissions ---------------------------------------------------------------------------------------------

def test_non_editing_teacher_sees_details_but_no_secret_and_cannot_change(client, setup, db):
    advantage = make_resource(setup.course)
    legacy = make_resource(setup.course, legacy=True)
    login(client, setup.noneditor.username)
    html = client.get(_tools(setup)).get_data(as_text=True)
    assert f"id={advantage.uuid}" in html
    assert ">Add</a>" not in html and 'aria-label="Edit"' not in html and 'aria-label="Disable"' not in html
    html = client.get(_tools(setup) + "?tab=legacy").get_data(as_text=True)
    assert legacy.secret not in html and "••••••••" in html
    assert f"/lti/v1/cartridge/{legacy.id}/{legacy.legacy_token}.xml" in html
    token = csrf_token(client, _tools(setup))
    for path in ("/new", f"/{advantage.id}/edit", f"/{advantage.id}/delete"):
        assert client.get(_tools(setup) + path).status_code == 403, path
    for path in ("/new", f"/{advantage.id}/edit", f"/{advantage.id}/disable", f"/{advantage.id}/enable",
                 f"/{advantage.id}/delete"):
        response = client.post(_tools(setup) + path, data={**form_payload(name="x"), "csrf_token": token})
        assert response.status_code == 403, path
    db.session.expire_all()
    assert db.session.query(PublishedResource).count() == 2
    assert db.session.get(PublishedResource, advantage.id).enabled is True


def test_student_gets_403(client, setup):
    resource = make_resource(setup.course)
    login(client, setup.student.username)
    for path in ("", "?tab=legacy", "/new", f"/{resource.id}/edit", f"/{resource.id}/delete"):
        assert client.get(_tools(setup) + path).status_code == 403, path


def test_teacher_of_another_course_gets_403(client, setup):
    other = course_with_staff("CHEM1", "Chemistry 1")
    login(client, other.teacher.username)
    assert client.get(_tools(setup)).status_code == 403


def test_anonymous_is_sent_to_login(client, setup):
    response = client.get(_tools(setup))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=%2Fcourse%2F{setup.course.id}%2Flti"


def test_foreign_and_unknown_ids_are_404(client, setup, admin, db):
    other = make_course("OTHER", "Other course")
    foreign = make_resource(other)
    login(client, setup.teacher.username)
    token = csrf_token(client, _tools(setup))
    for path in (f"/{foreign.id}/edit", f"/{foreign.id}/delete", "/999999/edit"):
        assert client.get(_tools(setup) + path).status_code == 404, path
    for path in (f"/{foreign.id}/disable", f"/{foreign.id}/delete"):
        assert client.post(_tools(setup) + path, data={"csrf_token": token}).status_code == 404, path
    assert client.get("/course/999999/lti").status_code == 404
    db.session.expire_all()
    assert db.session.get(PublishedResource, foreign.id).enabled is True


def test_site_admin_manages_any_course(client, setup, admin):
    login(client, "admin")
    assert f'/course/{setup.course.id}/lti/new?legacy=0">Add</a>' in client.get(_tools(setup)).get_data(as_text=True)
    response = post_form(client, f"{_tools(setup)}/new", form_payload(name="By the admin"))
    assert response.status_code == 302


def test_sync_column_links_to_the_sync_status_page(client, setup):
    resource = make_resource(setup.course)
    login(client, setup.teacher.username)
    row = _row(client.get(_tools(setup)).get_data(as_text=True), resource.id)
    waiting = "Waiting for the first launch"
    assert f'<a href="/course/{setup.course.id}/lti/{resource.id}/sync">Grades: {waiting}</a>' in row
    assert f'<a href="/course/{setup.course.id}/lti/{resource.id}/sync">Users: {waiting}</a>' in row
