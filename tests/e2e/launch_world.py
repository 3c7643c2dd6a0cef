"""A registered platform, a course with an activity, and resources publishing both: the starting point of the
launch end-to-end tests. Built inside the live server's app; ids are returned, not rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import PublishedResource
from tests import factories
from tests.e2e.lti_launcher import Browser, LaunchPlatform, LinkSpec
from tests.e2e.platform_server import PlatformServer


@dataclass
class World:
    live: Any
    platform: LaunchPlatform
    registration_id: int
    course_id: int
    activity_id: int
    course_uuid: str
    activity_uuid: str
    course_resource_id: int
    activity_resource_id: int

    @property
    def url(self) -> str:
        return self.live.url

    def browser(self) -> Browser:
        return Browser(self.live.url)

    def link(self, **fields: Any) -> str:
        fields.setdefault("resource_uuid", self.activity_uuid)
        return self.platform.add_link(LinkSpec(**fields))

    def context(self):
        return self.live.app.app_context()

    def update_resource(self, resource_id: int, **values: Any) -> None:
        with self.context():
            resource = db.session.get(PublishedResource, resource_id)
            for name, value in values.items():
                setattr(resource, name, value)
            db.session.commit()


def row_counts(world: World) -> dict[str, int]:
    with world.context():
        return {table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
                for table in db.metadata.sorted_tables}


def changed_tables(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def build_world(live: Any, platform: LaunchPlatform) -> World:
    """The registration, course, activity and resources in the database of `live` (anything with `url` and the
    Flask `app` whose database the tool uses)."""
    with live.app.app_context():
        registration = factories.make_registration(
            "Test LMS", issuer=platform.issuer, client_id=platform.client_id,
            auth_request_url=platform.auth_url, jwks_url=platform.jwks_url,
            access_token_url=f"{platform.server.url}/token")
        course = factories.make_course("BIO101", "Biology")
        activity = factories.make_activity(course, "page", "Cells", content_html="<p>Cells are small.</p>")
        course_resource = factories.make_resource(course)
        activity_resource = factories.make_resource(course, activity)
        return World(live, platform, registration.id, course.id, activity.id, course_resource.uuid,
                     activity_resource.uuid, course_resource.id, activity_resource.id)


@pytest.fixture
def world(live_server) -> Iterator[World]:
    with PlatformServer() as server:
        yield build_world(live_server, LaunchPlatform(server, live_server.url))
