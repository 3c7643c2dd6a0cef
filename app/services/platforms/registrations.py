"""Platform registrations and their deployments: the rules behind Tool registration.

Registrations are keyed by (issuer, client ID) and also found by their login ID; each Pending one has a
single-use Registration URL token for dynamic registration (`registration_urls`, `dynamic_registration`).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func

from app.extensions import db
from app.lti import connection_check, service_token
from app.lti.registration import is_http_url
from app.models import (
    Deployment, Enrolment, LaunchLog, LtiContext, LtiUser, LtiUserResourceLink, PlatformKeyset,
    PlatformRegistration, RegistrationToken, ResourceLink, SyncJob, published_resource_registration,
)
from app.models.base import conflict_insert, utcnow
from app.models.jobs import JOB_PENDING
from app.models.platforms import (
    DEPLOYMENT_ACTIVE, DEPLOYMENT_IGNORED, DEPLOYMENT_PENDING, STATUS_ACTIVE, STATUS_PENDING,
)
from app.services.launch import log as launch_log
from app.services.errors import NotFound, ServiceError, ValidationErrors
from app.services.platforms.registration_urls import issue_registration_token

MSG_REQUIRED = "Required"
MSG_MAX_255 = "Maximum of 255 characters"
MSG_MAX_1333 = "Maximum of 1333 characters"
MSG_INVALID_URL = "Invalid URL. Have you included http:// or https://?"
MSG_DUPLICATE_CLIENT = "Invalid client ID. This client ID is already registered for the platform ID provided."
MSG_DUPLICATE_DEPLOYMENT = "Invalid deployment ID. The deployment ID already exists for this app registration."
MSG_NOT_ACTIVE = "Test connection is available once the platform details are complete."

URL_FIELDS = ("issuer", "auth_request_url", "jwks_url", "access_token_url")
DETAIL_FIELDS = ("name", "issuer", "client_id", "auth_request_url", "jwks_url", "access_token_url",
                 "token_audience")


@dataclass(frozen=True)
class RegistrationRow:
    registration: PlatformRegistration
    active_deployments: int
    pending_deployments: int


# Registrations -------------------------------------------------------------------------------------------

def get_registration(registration_id: int) -> PlatformRegistration:
    registration = db.session.get(PlatformRegistration, registration_id)
    if registration is None:
        raise NotFound("Registration not found.")
    return registration


def list_registrations() -> list[RegistrationRow]:
    """Every registration by name, with its Active and pending-approval deployment counts."""
    counts: dict[tuple[int, str], int] = {
        (registration_id, status): count for registration_id, status, count in db.session.execute(
            db.select(Deployment.registration_id, Deployment.status, func.count())
            .group_by(Deployment.registration_id, Deployment.status))}
    registrations = db.session.execute(
        db.select(PlatformRegistration).order_by(PlatformRegistration.name, PlatformRegistration.id)).scalars()
    return [RegistrationRow(registration, counts.get((registration.id, DEPLOYMENT_ACTIVE), 0),
                            counts.get((registration.id, DEPLOYMENT_PENDING), 0)) for registration in registrations]


def _validate_name(name: str) -> str | None:
    if not name:
        return MSG_REQUIRED
    if len(name) > 255:
        return MSG_MAX_255
    return None


def _new_login_id() -> str:
    """60 lowercase hex characters from the CSPRNG; the loop only guards an astronomically unlikely clash."""
    while True:
        login_id = secrets.token_hex(30)
        taken = db.session.execute(
            db.select(PlatformRegistration.id).where(PlatformRegistration.login_id == login_id)).scalar()
        if taken is None:
            return login_id


def create_registration(name: str) -> PlatformRegistration:
    """A Pending draft with its own login ID and a fresh Registration URL token."""
    name = (name or "").strip()
    error = _validate_name(name)
    if error:
        raise ValidationErrors({"name": error})
    registration = PlatformRegistration(name=name, login_id=_new_login_id(), status=STATUS_PENDING,
                                        frame_origins=[])
    db.session.add(registration)
    db.session.flush()
    issue_registration_token(registration)
    return registration


def validate_platform_details(registration: PlatformRegistration, values: dict[str, str]) -> dict[str, str]:
    """Field messages for Edit platform details; `values` are already trimmed."""
    errors: dict[str, str] = {}
    name_error = _validate_name(values["name"])
    if name_error:
        errors["name"] = name_error
    for field in ("client_id", *URL_FIELDS):
        if not values[field]:
            errors[field] = MSG_REQUIRED
    for field in URL_FIELDS:
        if field not in errors and not is_http_url(values[field]):
            errors[field] = MSG_INVALID_URL
    if "client_id" not in errors and len(values["client_id"]) > 1333:
        errors["client_id"] = MSG_MAX_1333
    if "issuer" not in errors and "client_id" not in errors:
        clash = db.session.execute(db.select(PlatformRegistration.id).where(
            PlatformRegistration.issuer == values["issuer"], PlatformRegistration.client_id == values["client_id"],
            PlatformRegistration.id != registration.id)).scalar()
        if clash is not None:
            errors["client_id"] = MSG_DUPLICATE_CLIENT
    return errors


def forget_platform_cache(registration: PlatformRegistration) -> None:
    """Keys and tokens fetched for the old details must not be used with the new ones."""
    db.session.execute(db.delete(PlatformKeyset).where(PlatformKeyset.registration_id == registration.id))
    service_token.forget_tokens(registration)


def update_platform_details(registration: PlatformRegistration, **values: str | None) -> PlatformRegistration:
    """Save every platform field; the registration becomes Active once all five are set."""
    cleaned = {field: (values.get(field) or "").strip() for field in DETAIL_FIELDS}
    errors = validate_platform_details(registration, cleaned)
    if errors:
        raise ValidationErrors(errors)
    for field in DETAIL_FIELDS:
        setattr(registration, field, cleaned[field])
    registration.token_audience = cleaned["token_audience"] or None  # optional: empty means "use the token URL"
    if registration.is_complete:
        registration.status = STATUS_ACTIVE
    forget_platform_cache(registration)
    db.session.flush()
    return registration


def platform_details(registration: PlatformRegistration) -> dict[str, str]:
    """The current values as a form/CLI would send them (empty strings for unset fields)."""
    return {field: getattr(registration, field) or "" for field in DETAIL_FIELDS}


def delete_registration(registration: PlatformRegistration) -> None:
    """Deployments with their cascade, cached keys and tokens, restrictions naming it, then the registration."""
    for deployment in list(registration.deployments):
        delete_deployment(deployment)
    db.session.expire(registration, ["deployments"])  # so deleting the registration does not cascade to them again
    forget_platform_cache(registration)
    db.session.execute(db.delete(published_resource_registration).where(
        published_resource_registration.c.registration_id == registration.id))
    db.session.execute(db.delete(RegistrationToken).where(RegistrationToken.registration_id == registration.id))
    db.session.delete(registration)
    db.session.flush()


# Deployments ----------------------------------------------------------------------------------------------

def get_deployment(registration: PlatformRegistration, deployment_pk: int) -> Deployment:
    deployment = db.session.get(Deployment, deployment_pk)
    if deployment is None or deployment.registration_id != registration.id:
        raise NotFound("Deployment not found.")
    return deployment


def find_deployment(registration: PlatformRegistration, deployment_id: str) -> Deployment:
    deployment = _deployment_by_id(registration, deployment_id)
    if deployment is None:
        raise NotFound(f"Deployment ID '{deployment_id}' is not known for this registration.")
    return deployment


def _deployment_by_id(registration: PlatformRegistration, deployment_id: str) -> Deployment | None:
    return db.session.execute(db.select(Deployment).where(
        Deployment.registration_id == registration.id, Deployment.deployment_id == deployment_id)
        .execution_options(populate_existing=True)).scalar_one_or_none()


def deployments(registration: PlatformRegistration, status: str) -> list[Deployment]:
    order = Deployment.name if status == DEPLOYMENT_ACTIVE else Deployment.last_seen_at.desc()
    return list(db.session.execute(db.select(Deployment).where(
        Deployment.registration_id == registration.id, Deployment.status == status)
        .order_by(order, Deployment.id)).scalars())


def last_launches(registration: PlatformRegistration) -> dict[str, datetime]:
    """Time of the last successful launch per deployment ID, from the launch log."""
    rows = db.session.execute(db.select(LaunchLog.deployment_id, func.max(LaunchLog.at)).where(
        LaunchLog.registration_id == registration.id, LaunchLog.outcome == launch_log.SUCCESS,
        LaunchLog.kind.in_([launch_log.KIND_LAUNCH, launch_log.KIND_DEEP_LINKING]),
        LaunchLog.deployment_id.is_not(None)).group_by(LaunchLog.deployment_id))
    return {deployment_id: at for deployment_id, at in rows}


def add_deployment(registration: PlatformRegistration, name: str, deployment_id: str) -> Deployment:
    """Add an Active deployment; a pending or ignored record with the same ID becomes it."""
    name, deployment_id = (name or "").strip(), (deployment_id or "").strip()
    errors: dict[str, str] = {}
    name_error = _validate_name(name)
    if name_error:
        errors["name"] = name_error
    existing = _deployment_by_id(registration, deployment_id) if deployment_id else None
    if not deployment_id:
        errors["deployment_id"] = MSG_REQUIRED
    elif len(deployment_id) > 255:
        errors["deployment_id"] = MSG_MAX_255
    elif existing is not None and existing.status == DEPLOYMENT_ACTIVE:
        errors["deployment_id"] = MSG_DUPLICATE_DEPLOYMENT
    if errors:
        raise ValidationErrors(errors)
    if existing is None:
        existing = Deployment(registration_id=registration.id, deployment_id=deployment_id, attempts=0)
        db.session.add(existing)
    existing.name, existing.status = name, DEPLOYMENT_ACTIVE
    db.session.flush()
    return existing


def approve_deployment(deployment: Deployment) -> Deployment:
    """A held deployment ID becomes Active, named after itself."""
    if deployment.status not in (DEPLOYMENT_PENDING, DEPLOYMENT_IGNORED):
        raise NotFound("This deployment is not awaiting approval.")
    deployment.status, deployment.name = DEPLOYMENT_ACTIVE, deployment.deployment_id
    db.session.flush()
    return deployment


def ignore_deployment(deployment: Deployment) -> Deployment:
    """Launches keep being refused, and the ID leaves the Pending approval list."""
    if deployment.status != DEPLOYMENT_PENDING:
        raise NotFound("This deployment is not awaiting approval.")
    deployment.status = DEPLOYMENT_IGNORED
    db.session.flush()
    return deployment


def note_unknown_deployment(registration: PlatformRegistration, deployment_id: str,
                            context_title: str | None) -> Deployment:
    """Record a launch from a deployment ID that has not been added (policy "Hold for approval").

    New IDs become a pending record; a pending or ignored one gets its last-seen time and attempt count
    bumped (an ignored ID stays ignored). One upsert statement, so simultaneous launches count correctly.
    An Active deployment is returned untouched.
    """
    now = utcnow()
    table = Deployment.__table__
    statement = conflict_insert(table).values(
        registration_id=registration.id, deployment_id=deployment_id, name=deployment_id[:255],
        status=DEPLOYMENT_PENDING, first_seen_at=now, last_seen_at=now, attempts=1,
        context_title_seen=context_title, created_at=now, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.registration_id, table.c.deployment_id],
        set_={"last_seen_at": now, "attempts": table.c.attempts + 1, "updated_at": now,
              "context_title_seen": func.coalesce(statement.excluded.context_title_seen,
                                                  table.c.context_title_seen)},
        where=table.c.status != DEPLOYMENT_ACTIVE)
    db.session.execute(statement)
    deployment = _deployment_by_id(registration, deployment_id)
    assert deployment is not None  # the upsert above guarantees the row exists
    return deployment


def delete_deployment(deployment: Deployment) -> None:
    """Remove a deployment and what launches through it left behind; accounts and grades stay.

    Users who came in through it are unenrolled from the resource's course or activity.
    """
    link_ids = list(db.session.execute(
        db.select(ResourceLink.id).where(ResourceLink.deployment_id == deployment.id)).scalars())
    if link_ids:
        db.session.execute(db.delete(SyncJob).where(
            SyncJob.status == JOB_PENDING, SyncJob.payload["resource_link_id"].as_integer().in_(link_ids)))
        db.session.execute(db.delete(LtiUserResourceLink).where(LtiUserResourceLink.resource_link_id.in_(link_ids)))
        db.session.execute(db.delete(ResourceLink).where(ResourceLink.id.in_(link_ids)))
    lti_users = db.session.execute(db.select(LtiUser.id, LtiUser.user_id, LtiUser.published_resource_id).where(
        LtiUser.deployment_id == deployment.id)).all()
    for _lti_user_id, user_id, resource_id in lti_users:
        db.session.execute(db.delete(Enrolment).where(
            Enrolment.user_id == user_id, Enrolment.published_resource_id == resource_id))
    db.session.execute(db.delete(LtiUser).where(LtiUser.deployment_id == deployment.id))
    db.session.execute(db.delete(LtiContext).where(LtiContext.deployment_id == deployment.id))
    db.session.delete(deployment)
    db.session.flush()


# Test connection ---------------------------------------------------------------------------

def run_connection_test(registration: PlatformRegistration) -> dict[str, Any]:
    """Run both steps and keep the result on the registration as its last test."""
    if registration.status != STATUS_ACTIVE:
        raise ServiceError(MSG_NOT_ACTIVE)
    steps = connection_check.run(registration)
    registration.last_test = {"at": utcnow().isoformat(), "ok": all(step.ok for step in steps),
                              "steps": [step.as_dict() for step in steps]}
    db.session.flush()
    return registration.last_test


