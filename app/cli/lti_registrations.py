"""`flask --app wsgi lti registrations|deployments|keys …`: the Tool registration screens as commands.

Each command is one transaction and prints the same messages as the screens. The groups are AppGroups so
every command runs in an app context however it is invoked.
"""
from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from app.cli.output import DB_ID, emit, fail, json_option
from app.extensions import db
from app.lti.registration import tool_urls
from app.models import Deployment, PlatformRegistration
from app.models.platforms import DEPLOYMENT_ACTIVE, DEPLOYMENT_IGNORED, DEPLOYMENT_PENDING
from app.services.platforms import registration_urls
from app.services.platforms import registrations as platforms
from app.services.platforms import keys as tool_keys
from app.services.platforms import same_platform

STATUS_LABELS = {"active": "Active", "pending": "Pending"}
DEPLOYMENT_LABELS = {DEPLOYMENT_ACTIVE: "Active", DEPLOYMENT_PENDING: "Pending approval",
                     DEPLOYMENT_IGNORED: "Ignored"}


def _urls(registration: PlatformRegistration) -> dict[str, Any]:
    urls = tool_urls(registration.login_id)
    state = registration_urls.registration_url_state(registration)
    return {"tool_url": urls.tool_url, "initiate_login_url": urls.initiate_login_url, "jwks_url": urls.jwks_url,
            "deep_linking_url": urls.deep_linking_url, "canvas_json_url": urls.canvas_json_url,
            "registration_url": state.url,
            "registration_url_state": state.state, "registration_url_expires": state.expires_at}


def _summary(registration: PlatformRegistration) -> dict[str, Any]:
    return {"id": registration.id, "name": registration.name, "status": STATUS_LABELS[registration.status],
            "issuer": registration.issuer, "client_id": registration.client_id}


def _details(registration: PlatformRegistration) -> dict[str, Any]:
    return {**_summary(registration), "auth_request_url": registration.auth_request_url,
            "jwks_url": registration.jwks_url, "access_token_url": registration.access_token_url,
            "token_audience": registration.token_audience, "login_id": registration.login_id,
            "last_launch_at": registration.last_launch_at, "tool_urls": _urls(registration),
            "same_platform_as": [peer.id for peer in same_platform.platform_peers(registration)],
            "deployments": [_deployment(d) for d in registration.deployments]}


def _deployment(deployment: Deployment) -> dict[str, Any]:
    return {"id": deployment.id, "name": deployment.name, "deployment_id": deployment.deployment_id,
            "status": DEPLOYMENT_LABELS[deployment.status], "first_seen_at": deployment.first_seen_at,
            "last_seen_at": deployment.last_seen_at, "attempts": deployment.attempts,
            "context_title_seen": deployment.context_title_seen}


def _text(data: dict[str, Any]) -> str:
    """Nested dictionaries and lists as indented key: value lines."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {sub}: {'' if item is None else item}" for sub, item in value.items())
        elif isinstance(value, list):
            lines.append(f"{key}: {len(value)}")
            lines.extend("  - " + ", ".join(f"{k}={v}" for k, v in item.items() if v is not None) for item in value)
        else:
            lines.append(f"{key}: {'' if value is None else value}")
    return "\n".join(lines)


@click.group("registrations", cls=AppGroup)
def registrations() -> None:
    """Platform registrations."""


@registrations.command("list")
@json_option
def list_registrations(as_json: bool) -> None:
    rows = [{**_summary(row.registration), "active_deployments": row.active_deployments,
             "pending_deployments": row.pending_deployments} for row in platforms.list_registrations()]
    emit(rows, as_json, None if rows else "No registered platforms")


@registrations.command("show")
@click.argument("registration_id", type=DB_ID)
@json_option
def show(registration_id: int, as_json: bool) -> None:
    registration = platforms.get_registration(registration_id)
    data = _details(registration)
    emit(data, as_json, lambda: _text(data))


@registrations.command("create")
@click.argument("name")
@json_option
def create(name: str, as_json: bool) -> None:
    """Register a platform: a Pending draft with its tool URLs and Registration URL."""
    registration = platforms.create_registration(name)
    db.session.commit()
    data = {**_summary(registration), "tool_urls": _urls(registration)}
    emit(data, as_json, lambda: _text(data))


@registrations.command("update")
@click.argument("registration_id", type=DB_ID)
@click.option("--name")
@click.option("--issuer")
@click.option("--client-id")
@click.option("--auth-url", "auth_request_url")
@click.option("--jwks-url")
@click.option("--token-url", "access_token_url")
@click.option("--token-audience")
@json_option
def update(registration_id: int, as_json: bool, **changes: str | None) -> None:
    """Edit platform details; options left out keep their current value."""
    registration = platforms.get_registration(registration_id)
    values = platforms.platform_details(registration)
    values.update({field: value for field, value in changes.items() if value is not None})
    platforms.update_platform_details(registration, **values)
    db.session.commit()
    data = _details(registration)
    emit(data, as_json, lambda: "Platform registration updated\n" + _text(data))


@registrations.command("delete")
@click.argument("registration_id", type=DB_ID)
@click.option("--yes", is_flag=True, help="Confirm: all tool deployments stored against it are removed too.")
@json_option
def delete(registration_id: int, yes: bool, as_json: bool) -> None:
    registration = platforms.get_registration(registration_id)
    if not yes:
        fail(f"Are you sure you want to delete the registration for the platform '{registration.name}'? This will "
             f"also remove all tool deployments stored against this registration. Add --yes to confirm.", as_json)
    platforms.delete_registration(registration)
    db.session.commit()
    emit({"deleted": registration_id}, as_json, "Platform registration deleted")


@registrations.command("same-platform")
@click.argument("registration_id", type=int)
@click.argument("platform_id", type=int)
@click.option("--yes", is_flag=True, help="Confirm: LMS users linked through either registration sign in to the "
                                          "same accounts through both.")
@json_option
def same_platform_as(registration_id: int, platform_id: int, yes: bool, as_json: bool) -> None:
    """Declare REGISTRATION_ID the same platform as PLATFORM_ID (a re-registration): identities are shared."""
    registration = platforms.get_registration(registration_id)
    platform = same_platform.checked_target(registration, platform_id)
    if not yes:
        fail(f"Are you sure '{registration.name}' is the same platform as '{platform.name}'? LMS users linked "
             f"through either registration will sign in to the same accounts through both. Add --yes to confirm.",
             as_json)
    joined = same_platform.join_platform(registration, platform_id)
    db.session.commit()
    data = {"registration": registration_id, "same_platform_as": platform_id,
            "moved_identities": joined.moved_identities}
    emit(data, as_json, f"'{registration.name}' is now the same platform as '{platform.name}'")


@registrations.command("token")
@click.argument("registration_id", type=DB_ID)
@json_option
def token(registration_id: int, as_json: bool) -> None:
    """Generate a new Registration URL (the previous one stops working)."""
    registration = platforms.get_registration(registration_id)
    registration_urls.issue_registration_token(registration)
    db.session.commit()
    state = registration_urls.registration_url_state(registration)
    emit({"registration_url": state.url, "expires_at": state.expires_at}, as_json,
         lambda: f"A new registration URL has been generated.\n{state.url}\nSingle use. Expires {state.expires_at}.")


@registrations.command("test")
@click.argument("registration_id", type=DB_ID)
@json_option
def connection_test(registration_id: int, as_json: bool) -> None:
    """Test connection; exits 1 when a step failed."""
    registration = platforms.get_registration(registration_id)
    db.session.commit()  # nothing stays open while the platform is called
    result = platforms.run_connection_test(registration)
    db.session.commit()
    emit(result, as_json, lambda: "\n".join(f"{step['name']}: {step['text']}" for step in result["steps"]))
    if not result["ok"]:
        raise SystemExit(1)


@click.group("deployments", cls=AppGroup)
def deployments() -> None:
    """Deployments of a registration."""


@deployments.command("list")
@click.argument("registration_id", type=DB_ID)
@json_option
def list_deployments(registration_id: int, as_json: bool) -> None:
    registration = platforms.get_registration(registration_id)
    rows = [_deployment(deployment) for status in (DEPLOYMENT_ACTIVE, DEPLOYMENT_PENDING, DEPLOYMENT_IGNORED)
            for deployment in platforms.deployments(registration, status)]
    emit(rows, as_json, None if rows else "No tool deployments found")


@deployments.command("add")
@click.argument("registration_id", type=DB_ID)
@click.argument("deployment_id")
@click.option("--name", help="Deployment name (default: the deployment ID).")
@json_option
def add(registration_id: int, deployment_id: str, name: str | None, as_json: bool) -> None:
    registration = platforms.get_registration(registration_id)
    deployment = platforms.add_deployment(registration, deployment_id if name is None else name, deployment_id)
    db.session.commit()
    data = _deployment(deployment)
    emit(data, as_json, lambda: "Deployment added\n" + _text(data))


@deployments.command("remove")
@click.argument("registration_id", type=DB_ID)
@click.argument("deployment_id")
@click.option("--yes", is_flag=True, help="Confirm: users of its resource links lose access.")
@json_option
def remove(registration_id: int, deployment_id: str, yes: bool, as_json: bool) -> None:
    registration = platforms.get_registration(registration_id)
    deployment = platforms.find_deployment(registration, deployment_id)
    if not yes:
        fail("Warning: Deleting a deployment will result in a loss of access for any users following resource links "
             "tied to this tool deployment in the platform. Member and grade sync services will also be removed for "
             f"these resources. Are you sure you want to delete deployment ID '{deployment_id}'? Add --yes to "
             "confirm.", as_json)
    platforms.delete_deployment(deployment)
    db.session.commit()
    emit({"deleted": deployment_id}, as_json, "Deployment deleted")


@deployments.command("approve")
@click.argument("registration_id", type=DB_ID)
@click.argument("deployment_id")
@json_option
def approve(registration_id: int, deployment_id: str, as_json: bool) -> None:
    registration = platforms.get_registration(registration_id)
    deployment = platforms.approve_deployment(platforms.find_deployment(registration, deployment_id))
    db.session.commit()
    emit(_deployment(deployment), as_json, "Deployment approved")


@deployments.command("ignore")
@click.argument("registration_id", type=DB_ID)
@click.argument("deployment_id")
@json_option
def ignore(registration_id: int, deployment_id: str, as_json: bool) -> None:
    registration = platforms.get_registration(registration_id)
    deployment = platforms.ignore_deployment(platforms.find_deployment(registration, deployment_id))
    db.session.commit()
    emit(_deployment(deployment), as_json, "Deployment ignored")


@click.group("keys", cls=AppGroup)
def keys() -> None:
    """Tool signing keys."""


@keys.command("list")
@json_option
def list_keys(as_json: bool) -> None:
    rows = [row.as_dict() for row in tool_keys.list_keys()]
    emit(rows, as_json)


@keys.command("ensure")
@json_option
def ensure(as_json: bool) -> None:
    """Create the Current and Next keys if missing (`db upgrade` creates them; safe to run at any time)."""
    tool_keys.ensure_keys()
    db.session.commit()
    emit([row.as_dict() for row in tool_keys.list_keys()], as_json)


@keys.command("rotate")
@json_option
def rotate(as_json: bool) -> None:
    """Next becomes Current; the old Current stays published for the grace period."""
    key = tool_keys.rotate_keys()
    db.session.commit()
    emit({"kid": key.kid, "grace_days": tool_keys.grace_days()}, as_json,
         f"Keys rotated. New signing key: {key.kid}.")
