"""Origins learned from a launch's return URL frame only the sessions of the registration or consumer that sent
it, never another platform's sessions; each remembers a bounded number; pages with secrets are never framed."""
from __future__ import annotations

from app.extensions import db
from app.lti.launch_data import LaunchData
from app.models import Lti11Consumer, PlatformRegistration
from app.models.tools import PROVISION_AUTO
from app.services.launch.records import record_launch
from app.services.platforms.framing import MAX_LEARNED_ORIGINS
from tests import factories
from tests.e2e.legacy_consumer import launch_params, sign_launch

BASE = "http://127.0.0.1:5000"
FORM = "application/x-www-form-urlencoded"


def _launch(client, resource, key: str, **params: str):
    body = sign_launch(f"{BASE}/lti/v1/launch/{resource.id}", key, resource.secret, launch_params(**params))
    response = client.post(f"/lti/v1/launch/{resource.id}", data=body, content_type=FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _frame_ancestors(response) -> str:
    return response.headers["Content-Security-Policy"].split("frame-ancestors ")[1].split(";")[0]


def test_one_consumers_return_url_does_not_frame_other_sessions(app):
    factories.make_registration("Moodle", issuer="https://moodle.school.example")
    genuine = factories.make_resource(factories.make_course("BIO", "Biology"), legacy=True)
    attacker = factories.make_resource(factories.make_course("ART", "Art"), legacy=True,
                                       secret="AttackerChosenSecret123")
    _launch(app.test_client(), attacker, "evil-key", user_id="t1",
            launch_presentation_return_url="https://evil.example/return")

    student = app.test_client()
    landed = _launch(student, genuine, "lms-y-key", user_id="s1",
                     launch_presentation_return_url="https://lms-y.example/return")
    framing = _frame_ancestors(student.get(landed.headers["Location"]))
    assert "https://lms-y.example" in framing
    assert "https://evil.example" not in framing
    assert "https://moodle.school.example" not in framing  # a legacy session belongs to its consumer only

    forger = app.test_client()
    own = _launch(forger, attacker, "evil-key", user_id="t1",
                  launch_presentation_return_url="https://evil.example/return")
    assert "https://evil.example" in _frame_ancestors(forger.get(own.headers["Location"]))


def test_learned_origins_are_bounded_per_consumer(app):
    resource = factories.make_resource(factories.make_course("BIO", "Biology"), legacy=True)
    for number in range(MAX_LEARNED_ORIGINS + 5):
        _launch(app.test_client(), resource, "lms-key", user_id=f"s{number}",
                launch_presentation_return_url=f"https://lms{number}.example/return")
    db.session.expire_all()
    consumer = db.session.scalars(db.select(Lti11Consumer)).one()
    assert len(consumer.frame_origins) == MAX_LEARNED_ORIGINS
    assert consumer.frame_origins[-1] == f"https://lms{MAX_LEARNED_ORIGINS + 4}.example"
    assert "https://lms0.example" not in consumer.frame_origins


def test_learned_origins_are_bounded_per_registration(app):
    registration = factories.make_registration("Canvas", issuer="https://canvas.example")
    resource = factories.make_resource(factories.make_course("BIO", "Biology"))
    user = factories.make_user("lena")
    for number in range(MAX_LEARNED_ORIGINS + 3):
        db.session.expire_all()
        row = db.session.get(PlatformRegistration, registration.id)
        launch = LaunchData(launch_id="l", registration_id=row.id, deployment_pk=row.deployments[0].id,
                            issuer=row.issuer, client_id=row.client_id, deployment_id="deployment-1",
                            message_type="LtiResourceLinkRequest", subject="s", roles=[], cookie_method="cookie",
                            clock_skew=0, return_url=f"https://canvas{number}.example/back")
        record_launch(launch, row, resource.id, user.id)
        db.session.commit()
    db.session.expire_all()
    learned = db.session.get(PlatformRegistration, registration.id).frame_origins
    assert len(learned) == MAX_LEARNED_ORIGINS and learned[-1] == f"https://canvas{MAX_LEARNED_ORIGINS + 2}.example"


def test_pages_showing_secrets_are_never_framed_in_a_launched_session(app):
    resource = factories.make_resource(factories.make_course("BIO", "Biology"), legacy=True,
                                       provisioning_mode_instructor=PROVISION_AUTO)
    teacher = app.test_client()
    landed = _launch(teacher, resource, "lms-key", user_id="t1", roles="Instructor",
                     launch_presentation_return_url="https://lms.example/return")
    course_page = teacher.get(landed.headers["Location"])
    assert "https://lms.example" in _frame_ancestors(course_page)
    tools = teacher.get(f"/course/{resource.course_id}/lti?tab=legacy")
    assert tools.status_code == 200 and resource.secret in tools.get_data(as_text=True)
    assert _frame_ancestors(tools) == "'self'" and tools.headers["X-Frame-Options"] == "DENY"
