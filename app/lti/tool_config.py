"""pylti1p3 reads platform registrations, deployments and our keys from the database.

Built fresh for every request, always in "many clients per issuer" mode: Canvas and Brightspace cloud use one
issuer for every customer, so a registration is identified by (issuer, client ID), never the issuer alone.
Lookups return plain rows (id, name, issuer, client ID, URLs, status), read with the launch's prepared
driver-level statements (app/models/queries/platforms.py).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from flask import g, has_request_context
from pylti1p3.deployment import Deployment as LibDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract

from app.lti import keys
from app.models.config_cache import cached
from app.models.platforms import DEPLOYMENT_ACTIVE, STATUS_ACTIVE
from app.models.queries.platforms import (
    BY_CLIENT as _BY_CLIENT, BY_ISSUER as _BY_ISSUER, BY_LOGIN_ID as _BY_LOGIN_ID, DEPLOYMENT as _DEPLOYMENT,
)


class RegistrationRef(Protocol):
    """What the launch needs of a PlatformRegistration (a row or the model itself)."""

    id: int
    name: str
    issuer: str | None
    client_id: str | None
    login_id: str
    auth_request_url: str | None
    jwks_url: str | None
    status: str
    platform_key: str


class DeploymentRef(Protocol):
    id: int
    deployment_id: str


class ToolRegistration(Registration):
    """A pylti1p3 Registration that remembers its row; our private key is loaded only when something signs."""

    def __init__(self, model: RegistrationRef) -> None:
        self.model = model
        (self.set_issuer(model.issuer or "").set_client_id(model.client_id or "")
         .set_auth_login_url(model.auth_request_url or "").set_key_set_url(model.jwks_url))
        access_token_url = getattr(model, "access_token_url", None) or ""
        self.set_auth_token_url(access_token_url).set_auth_audience(getattr(model, "token_audience", None) or "")

    def get_tool_private_key(self) -> str | None:
        if self._tool_private_key is None:
            self._tool_private_key = keys.current_key().private_key_pem
        return self._tool_private_key

    def get_kid(self) -> str | None:
        return keys.current_key().kid


class ToolDeployment(LibDeployment):
    def __init__(self, model: DeploymentRef) -> None:
        self.model = model
        self.set_deployment_id(model.deployment_id)


class CheckedRegistration(NamedTuple):
    """A registration with one of its deployments, both found Active by this request's launch validation: the
    columns the rest of the launch reads (app/models/queries/launch.py USABLE returns the same)."""

    id: int
    name: str
    issuer: str | None
    client_id: str | None
    status: str
    frame_origins: list[str] | None
    last_launch_at: Any
    deployment_status: str
    deployment_seen_at: Any


_FOUND = "lti_found_rows"


def _found(kind: str, row: Any) -> None:
    """Remember a row a lookup found Active for the rest of this request (nothing outside one)."""
    if has_request_context():
        g.setdefault(_FOUND, {})[(kind, row.id)] = row


def checked_in_this_request(registration_id: int, deployment_pk: int) -> CheckedRegistration | None:
    """The registration and deployment as this request's validation found them Active, milliseconds ago; None
    when this request did not validate them (a resumed launch reads them again)."""
    found = g.get(_FOUND, {}) if has_request_context() else {}
    registration, deployment = found.get(("registration", registration_id)), found.get(("deployment", deployment_pk))
    if registration is None or deployment is None or deployment.registration_id != registration.id:
        return None
    return CheckedRegistration(registration.id, registration.name, registration.issuer, registration.client_id,
                               registration.status, registration.frame_origins, registration.last_launch_at,
                               deployment.status, deployment.last_seen_at)


def found_registration(registration_id: int) -> Any:
    """The registration row this request's validation found Active (with its frame origins as this request left
    them), or None when this request did not validate it."""
    found = g.get(_FOUND, {}) if has_request_context() else {}
    return found.get(("registration", registration_id))


def note_learned_origins(registration_id: int, origins: list[str]) -> None:
    """This request wrote the registration's learned frame origins: its found row follows."""
    row = found_registration(registration_id)
    if row is not None:
        g.get(_FOUND)[("registration", registration_id)] = row._replace(frame_origins=origins)


def active_registrations(iss: str) -> list[RegistrationRef]:
    """At most two: callers only need to know whether the issuer has exactly one."""
    return list(_BY_ISSUER.all(iss=iss, active=STATUS_ACTIVE))


class DbToolConf(ToolConfAbstract):
    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any,
                                    **kwargs: Any) -> ToolRegistration | None:
        """The Active registration for (issuer, client ID); without a client ID, the issuer's only Active one."""
        if client_id is None:
            candidates = active_registrations(iss)
            return ToolRegistration(candidates[0]) if len(candidates) == 1 else None
        row = cached("registration", (iss, client_id),
                     lambda: _BY_CLIENT.first(iss=iss, client_id=client_id, active=STATUS_ACTIVE))
        if row is None:
            return None
        _found("registration", row)
        return ToolRegistration(row)

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> ToolRegistration | None:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_login_id(self, iss: str, login_id: str) -> ToolRegistration | None:
        """The login URL's `id`, for platforms that leave client_id out of the login."""
        row = _BY_LOGIN_ID.first(iss=iss, login_id=login_id, active=STATUS_ACTIVE)
        return ToolRegistration(row) if row else None

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None, *args: Any,
                                  **kwargs: Any) -> ToolDeployment | None:
        """Only Active deployments admit launches; pending and ignored ones are refused by the caller."""
        registration = kwargs.get("registration") or self.find_registration_by_params(iss, client_id)
        if registration is None:
            return None
        registration_id = registration.model.id
        row = cached("deployment", (registration_id, deployment_id), lambda: _DEPLOYMENT.first(
            registration_id=registration_id, deployment_id=deployment_id, active=DEPLOYMENT_ACTIVE))
        if row is None:
            return None
        _found("deployment", row)
        return ToolDeployment(row)

    def find_deployment(self, iss: str, deployment_id: str) -> ToolDeployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def get_jwks(self, iss: str | None = None, client_id: str | None = None, **kwargs: Any) -> dict:
        """Every registration sees the same keys: the ones /lti/jwks publishes."""
        return keys.jwks()
