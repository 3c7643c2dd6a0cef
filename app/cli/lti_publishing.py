"""`flask --app wsgi lti publish …` and `lti published …`: the publish form and the published tables."""
from __future__ import annotations

from typing import Any

import click

from app.cli.output import DB_ID, emit, fail, json_option
from app.extensions import db
from app.models import PublishedResource
from app.services.publishing import listings, publish_values, section_checks
from app.services.publishing import resources as publishing
from app.services.courses.content import activity_by_name, course_by_short_name
from app.services.errors import NotFound
from app.services.publishing.publish_values import LTI_VERSIONS, PROVISIONING_KEYWORDS, PROVISIONING_MODES

_PROVISIONING = click.Choice(sorted(PROVISIONING_KEYWORDS, key=PROVISIONING_KEYWORDS.get))


def _describe(resource: PublishedResource, *, with_secret: bool) -> dict[str, Any]:
    """What `published list` shows of a resource; `with_secret` adds the legacy secret (publish, show)."""
    details = publishing.launch_details(resource)
    row: dict[str, Any] = {
        "id": resource.id,
        "course": resource.course.short_name,
        "name": publishing.resource_display_name(resource),
        "type": "Deleted activity" if resource.activity_deleted else resource.target.capitalize(),
        "lti_version": LTI_VERSIONS[resource.lti_version],
        "status": "Enabled" if resource.enabled else "Disabled",
        "launch_url": details.launch_url,
    }
    if resource.is_legacy:
        row.update(cartridge_url=details.cartridge_url, registration_url=details.registration_url)
        if with_secret:
            row["secret"] = details.secret
    else:
        row.update(uuid=resource.uuid, custom_properties=details.custom_properties,
                   available_to=[registration.name for registration in resource.registrations]
                   if resource.available_to == publish_values.AVAILABLE_SELECTED else "All registered platforms")
    return row


def _details(resource: PublishedResource) -> dict[str, Any]:
    """Everything `published show` and `publish` print: the table row plus the form's settings."""
    row = _describe(resource, with_secret=True)
    row.update(
        grade_sync=resource.grade_sync, member_sync=resource.member_sync,
        teacher_provisioning=PROVISIONING_MODES[resource.provisioning_mode_instructor],
        student_provisioning=PROVISIONING_MODES[resource.provisioning_mode_learner],
        enrolled_users=listings.enrolled_count(resource))
    return row


def _resource(resource_id: int) -> PublishedResource:
    resource = db.session.get(PublishedResource, resource_id)
    if resource is None:
        raise NotFound(f"Published resource not found: {resource_id}")
    return resource


@click.command("publish")
@click.argument("shortname")
@click.option("--activity", "activity_name", help="Publish this activity (by name) instead of the whole course.")
@click.option("--legacy", is_flag=True, help="Legacy LTI (1.1/2.0) instead of LTI Advantage.")
@click.option("--name", default="", help="Custom instance name.")
@click.option("--grade-sync/--no-grade-sync", default=True, show_default=True)
@click.option("--member-sync/--no-member-sync", default=True, show_default=True)
@click.option("--teacher-provisioning", type=_PROVISIONING, default="prompt", show_default=True,
              help="auto = New accounts only (automatic), prompt = Existing and new accounts (prompt), "
                   "existing = Existing accounts only (prompt).")
@click.option("--student-provisioning", type=_PROVISIONING, default="auto", show_default=True)
@click.option("--available-to", "available_to", multiple=True, metavar="REG_ID",
              help="Restrict an LTI Advantage resource to these registrations (repeat, or separate ids with commas).")
@json_option
def publish(shortname: str, activity_name: str | None, legacy: bool, name: str, grade_sync: bool,
            member_sync: bool, teacher_provisioning: str, student_provisioning: str, available_to: tuple[str, ...],
            as_json: bool) -> None:
    """Publish a course or one of its activities, printing what a platform admin needs."""
    course = course_by_short_name(shortname)
    values = publish_values.new_values(legacy)
    if activity_name is not None:
        try:
            values.target = str(activity_by_name(course, activity_name).id)
        except NotFound:
            fail(section_checks.MSG_TARGET, as_json, {"target": section_checks.MSG_TARGET})
    values.name = name
    values.grade_sync = grade_sync
    values.member_sync = member_sync
    values.provisioning_mode_instructor = PROVISIONING_KEYWORDS[teacher_provisioning]
    values.provisioning_mode_learner = PROVISIONING_KEYWORDS[student_provisioning]
    if available_to:
        values.available_to = publish_values.AVAILABLE_SELECTED
        values.registrations = [part for value in available_to for part in value.split(",")]
    resource = publishing.publish(course, values)
    db.session.commit()
    emit(_details(resource), as_json)


@click.group("published")
def published() -> None:
    """Published resources: list, show, enable, disable, delete."""


@published.command("list")
@click.option("--course", "shortname", help="Only this course (short name).")
@json_option
def list_published(shortname: str | None, as_json: bool) -> None:
    """Every published resource on the site (secrets are not listed)."""
    course_id = course_by_short_name(shortname).id if shortname else None
    resources = db.session.scalars(listings.site_resources_query(course_id=course_id)).all()
    emit([_describe(resource, with_secret=False) for resource in resources], as_json)


@published.command("show")
@click.argument("resource_id", type=DB_ID)
@json_option
def show(resource_id: int, as_json: bool) -> None:
    """One resource with its launch details (including a legacy secret) and settings."""
    emit(_details(_resource(resource_id)), as_json)


def _set_enabled(resource_id: int, enabled: bool, as_json: bool) -> None:
    resource = _resource(resource_id)
    publishing.set_enabled(resource, enabled)
    db.session.commit()
    message = "Published resource enabled." if enabled else "Published resource disabled."
    emit({"id": resource.id, "status": "Enabled" if enabled else "Disabled", "message": message}, as_json, message)


@published.command("enable")
@click.argument("resource_id", type=DB_ID)
@json_option
def enable(resource_id: int, as_json: bool) -> None:
    """Let the resource be launched again."""
    _set_enabled(resource_id, True, as_json)


@published.command("disable")
@click.argument("resource_id", type=DB_ID)
@json_option
def disable(resource_id: int, as_json: bool) -> None:
    """Refuse launches, skip sync and hide it from deep linking, keeping everything."""
    _set_enabled(resource_id, False, as_json)


@published.command("delete")
@click.argument("resource_id", type=DB_ID)
@click.option("--yes", is_flag=True, help="Confirm the deletion.")
@json_option
def delete(resource_id: int, yes: bool, as_json: bool) -> None:
    """Delete the resource, its links, LTI users, jobs, consumers and the enrolments made through it."""
    resource = _resource(resource_id)
    if not yes:
        name = publishing.resource_display_name(resource)
        count = listings.enrolled_count(resource)
        users = (f" All {count} users currently enrolled using this method will be unenrolled. Their accounts "
                 f"and grades are kept." if count else "")
        fail(f'You are about to delete the published resource "{name}".{users} Add --yes to continue.', as_json)
    summary = publishing.delete(resource)
    db.session.commit()
    emit({"id": resource_id, "name": summary.name, "unenrolled": summary.enrolments,
          "resource_links": summary.resource_links, "lti_users": summary.lti_users, "jobs": summary.jobs,
          "consumers": summary.consumers, "message": "Published resource deleted."},
         as_json, "Published resource deleted.")
