"""Publishing a course or one activity as an LTI tool: publish, edit, enable or disable, delete.

The web form and `flask --app wsgi lti publish` hand the same `PublishValues` (`publish_values`) to
`publish`/`update`, checked section by section (`section_checks`), so both get the same validation and the same
messages. Launch code imports `resource_display_name` and `launch_details` to show and check the values
teachers copy into a platform.
"""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Course, Enrolment, GradeSyncLog, Lti11Consumer, Lti11Nonce, LtiUser, LtiUserResourceLink, PublishedResource,
    ResourceLink, RoleAssignment, SyncJob,
)
from app.models.tools import LTI_ADVANTAGE, LTI_LEGACY, TARGET_COURSE
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.publishing import section_checks
from app.services.publishing.publish_values import PublishValues

MSG_DELETED_ACTIVITY = ("The activity shared by this instance has been deleted. You can select another activity to "
                        "share by editing the instance or, if no longer required, you can simply delete the instance.")


@dataclass(frozen=True)
class LaunchDetails:
    """What a platform admin pastes; the launch endpoints accept exactly these values."""

    launch_url: str
    custom_properties: str | None = None
    cartridge_url: str | None = None
    registration_url: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class DeleteSummary:
    name: str
    enrolments: int
    resource_links: int
    lti_users: int
    jobs: int
    consumers: int


def resource_display_name(resource: PublishedResource) -> str:
    """The instance name, else the course full name or the activity name ("Deleted activity" once it is gone)."""
    if resource.name:
        return resource.name
    if resource.target == TARGET_COURSE:
        return resource.course.full_name
    return resource.activity.name if resource.activity is not None else "Deleted activity"


def _base_url() -> str:
    return current_app.config["COURSEPORT_BASE_URL"]


def launch_details(resource: PublishedResource) -> LaunchDetails:
    """Launch URL and custom properties (LTI Advantage), or the legacy URLs and secret, built from the base URL."""
    base = _base_url()
    if not resource.is_legacy:
        return LaunchDetails(launch_url=f"{base}/lti/launch", custom_properties=f"id={resource.uuid}")
    return LaunchDetails(
        launch_url=f"{base}/lti/v1/launch/{resource.id}",
        cartridge_url=f"{base}/lti/v1/cartridge/{resource.id}/{resource.legacy_token}.xml",
        registration_url=f"{base}/lti/v2/register/{resource.id}/{resource.legacy_token}",
        secret=resource.secret,
    )


def get_course_resource(course: Course, resource_id: int) -> PublishedResource:
    """A resource of this course; any other id is "not found" so no one can reach another course's resource."""
    resource = db.session.get(PublishedResource, resource_id)
    if resource is None or resource.course_id != course.id:
        raise NotFound("Published resource not found.")
    return resource


def validate(course: Course, values: PublishValues, resource: PublishedResource | None = None) -> None:
    """Raise ValidationErrors with every field's message, changing nothing."""
    _clean(course, values, resource)


def _clean(course: Course, values: PublishValues, resource: PublishedResource | None) -> dict[str, Any]:
    """Check every section of the form; return the column values, or raise ValidationErrors with one message
    per field."""
    errors: dict[str, str] = {}
    clean = section_checks.check_tool(course, values, errors)
    legacy = clean["lti_version"] == LTI_LEGACY
    clean.update(section_checks.check_enrolment(values, errors))
    clean.update(section_checks.check_roles(values, errors))
    clean.update(section_checks.check_availability(values, legacy, errors))
    clean.update(section_checks.check_remote_system(values, legacy, resource, errors))
    clean.update(section_checks.check_user_defaults(values, errors))
    if errors:
        raise ValidationErrors(errors)
    return clean


def _apply(resource: PublishedResource, clean: dict[str, Any]) -> None:
    registrations = clean.pop("registrations")
    for key, value in clean.items():
        setattr(resource, key, value)
    resource.registrations = registrations
    # Identifiers are made once and never change (platforms store them); a resource switched to a version
    # that needs one gets it then.
    if resource.lti_version == LTI_ADVANTAGE and not resource.uuid:
        resource.uuid = str(uuid.uuid4())
    if resource.lti_version == LTI_LEGACY and not resource.legacy_token:
        resource.legacy_token = secrets.token_hex(16)


def publish(course: Course, values: PublishValues) -> PublishedResource:
    """Create an enabled resource: a UUID v4 for LTI Advantage, a secret and legacy token for Legacy."""
    clean = _clean(course, values, None)
    resource = PublishedResource(course_id=course.id, enabled=True)
    resource.course = course
    _apply(resource, clean)
    db.session.add(resource)
    db.session.flush()
    return resource


def update(resource: PublishedResource, values: PublishValues) -> PublishedResource:
    """Save the edit form; the UUID and the legacy token never change."""
    _apply(resource, _clean(resource.course, values, resource))
    db.session.flush()
    return resource


def set_enabled(resource: PublishedResource, enabled: bool) -> None:
    """A disabled resource refuses launches, is skipped by sync and is not offered in deep linking."""
    if enabled and resource.activity_deleted:
        raise ServiceError(MSG_DELETED_ACTIVITY)
    resource.enabled = enabled
    db.session.flush()


def delete(resource: PublishedResource) -> DeleteSummary:
    """Delete the resource and everything made through it, in the caller's transaction.

    Accounts and grades are kept. The rows go explicitly rather than by foreign-key cascade so the result
    does not depend on the database enforcing foreign keys, and so the counts can be reported.
    """
    rid = resource.id
    name = resource_display_name(resource)
    link_ids = select(ResourceLink.id).where(ResourceLink.published_resource_id == rid)
    lti_user_ids = select(LtiUser.id).where(LtiUser.published_resource_id == rid)
    enrolment_ids = select(Enrolment.id).where(Enrolment.published_resource_id == rid)
    consumer_keys = set(db.session.scalars(select(Lti11Consumer.consumer_key)
                                           .where(Lti11Consumer.published_resource_id == rid)))

    def remove(statement) -> int:
        return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0

    remove(sql_delete(LtiUserResourceLink).where(LtiUserResourceLink.resource_link_id.in_(link_ids)
                                             | LtiUserResourceLink.lti_user_id.in_(lti_user_ids)))
    remove(sql_delete(GradeSyncLog).where(GradeSyncLog.published_resource_id == rid))
    links = remove(sql_delete(ResourceLink).where(ResourceLink.published_resource_id == rid))
    lti_users = remove(sql_delete(LtiUser).where(LtiUser.published_resource_id == rid))
    jobs = remove(sql_delete(SyncJob).where(SyncJob.published_resource_id == rid))
    consumers = remove(sql_delete(Lti11Consumer).where(Lti11Consumer.published_resource_id == rid))
    still_used = set(db.session.scalars(select(Lti11Consumer.consumer_key)
                                        .where(Lti11Consumer.consumer_key.in_(consumer_keys))))
    if consumer_keys - still_used:
        remove(sql_delete(Lti11Nonce).where(Lti11Nonce.consumer_key.in_(consumer_keys - still_used)))
    remove(sql_delete(RoleAssignment).where(RoleAssignment.enrolment_id.in_(enrolment_ids)))
    enrolments = remove(sql_delete(Enrolment).where(Enrolment.published_resource_id == rid))
    resource.registrations = []
    db.session.delete(resource)
    db.session.flush()
    db.session.expire_all()
    return DeleteSummary(name=name, enrolments=enrolments, resource_links=links, lti_users=lti_users, jobs=jobs,
                         consumers=consumers)
