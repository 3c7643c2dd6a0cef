"""How particular LMSs differ from the plain LTI 1.3 flow, each driven over HTTP by the independent platform:
Canvas Cloud's shared issuer, Brightspace's hourly keys and Blackboard's institution-wide deployment.
(Self-hosted Canvas told apart by the login URL's id, dynamic registration without a registration_token and line
item URLs with query strings are tested with their flows: test_launch_flows, test_dynreg and test_sync_grades; the
deployment id a login names, under either name, in tests/web/test_launch_cookies.py.)"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Deployment, LaunchLog, LtiContext, ResourceLink
from app.services.launch.log import KIND_LAUNCH
from tests import factories
from tests.e2e.launch_world import World, world  # noqa: F401  (fixture)


def _logs(world: World, kind: str) -> list[LaunchLog]:
    with world.context():
        return list(db.session.execute(select(LaunchLog).where(LaunchLog.kind == kind)
                                       .order_by(LaunchLog.id)).scalars())


def test_canvas_cloud_shared_issuer_each_client_id_launches_into_its_own_registration(world):
    """Every Canvas Cloud school signs as https://canvas.instructure.com: only the client ID tells them apart."""
    with world.context():
        other = factories.make_registration("School B", issuer=world.platform.issuer, client_id="school-b-key",
                                            auth_request_url=world.platform.auth_url,
                                            jwks_url=world.platform.jwks_url)
        other_id = other.id
        deployments = {registration_id: deployment_id for deployment_id, registration_id in db.session.execute(
            select(Deployment.id, Deployment.registration_id))}
    first = world.browser().launch(world.platform, world.link(sub="a-1", resource_link_id="link-a"))
    world.platform.server.client_id = "school-b-key"  # the other school's developer key, same issuer
    second = world.browser().launch(world.platform, world.link(sub="b-1", resource_link_id="link-b"))

    assert (first.launch.status_code, second.launch.status_code) == (302, 302)
    assert [world.platform.issued[0]["aud"], world.platform.issued[1]["aud"]] == ["courseport-client", "school-b-key"]
    launches = _logs(world, KIND_LAUNCH)
    assert [(row.registration_id, row.client_id) for row in launches] == [
        (world.registration_id, "courseport-client"), (other_id, "school-b-key")]
    with world.context():
        links = dict(db.session.execute(select(ResourceLink.resource_link_id, ResourceLink.deployment_id)).all())
    assert links == {"link-a": deployments[world.registration_id], "link-b": deployments[other_id]}


def test_brightspace_hourly_keys_without_alg_and_a_short_max_age_refetch_once_per_new_kid(world):
    world.platform.jwks_without_alg = True
    world.platform.jwks_headers = {"Cache-Control": "public, max-age=60"}
    fetches = []
    for round_number in range(2):
        if round_number:
            world.platform.rotate_key()  # the next hour's key, not yet in the keyset Courseport holds
        for sub in ("k-1", "k-2"):
            assert world.browser().launch(world.platform, world.link(sub=sub)).launch.status_code == 302
        fetches.append(world.platform.jwks_fetches())
    assert fetches == [1, 2]


def test_blackboard_one_deployment_for_the_institution_holds_every_course(world):
    """Blackboard deploys a tool once for the whole institution: one deployment id, launches from many courses."""
    for context_id, link_id in (("bb-course-1", "bb-link-1"), ("bb-course-2", "bb-link-2"),
                                ("bb-course-3", "bb-link-3")):
        hint = world.link(sub="s-bb", context_id=context_id, context_title=f"Course {context_id}",
                          resource_link_id=link_id)
        assert world.browser().launch(world.platform, hint).launch.status_code == 302
    with world.context():
        [deployment] = db.session.execute(select(Deployment)).scalars().all()
        contexts = db.session.execute(select(LtiContext.context_id, LtiContext.deployment_id)).all()
        links = db.session.execute(select(ResourceLink.resource_link_id, ResourceLink.deployment_id,
                                          LtiContext.context_id)
                                   .join(LtiContext, LtiContext.id == ResourceLink.lti_context_id)).all()
    assert (deployment.deployment_id, deployment.status) == ("deployment-1", "active")
    assert sorted(contexts) == [(f"bb-course-{n}", deployment.id) for n in (1, 2, 3)]
    assert sorted(links) == [(f"bb-link-{n}", deployment.id, f"bb-course-{n}") for n in (1, 2, 3)]
