"""Dynamic registration: a platform opens a Registration URL, the tool registers with it, and the registration
takes the platform's details in one go (or nothing is written).
"""
from __future__ import annotations

from app.extensions import db
from app.lti.registration import RegistrationError, ToolRegistration
from app.models import Deployment, PlatformRegistration, RegistrationToken
from app.models.base import utcnow
from app.models.platforms import STATUS_ACTIVE, STATUS_PENDING
from app.services.errors import ServiceError, ValidationErrors
from app.services.platforms.registrations import add_deployment, forget_platform_cache, get_registration

MSG_INVALID_TOKEN = "Invalid or expired registration URL. Please check the URL and try again."
MSG_DUPLICATE_REGISTRATION = "A registration already exists for this issuer and client ID."


class DynamicRegistrationFailed(ServiceError):
    """Shown in the platform's window; `platform_response` is the platform's own answer, when there is one."""

    def __init__(self, message: str, status: int = 400, platform_response: str | None = None,
                 registration_id: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.platform_response = platform_response
        self.registration_id = registration_id


def _usable_token(token: str | None) -> RegistrationToken:
    """Step 1: an unexpired, unused token of a Pending registration."""
    row = db.session.execute(db.select(RegistrationToken).where(RegistrationToken.token == token)).scalar() \
        if token else None
    registration = db.session.get(PlatformRegistration, row.registration_id) if row is not None else None
    if (row is None or registration is None or row.used_at is not None or row.expires_at <= utcnow()
            or registration.status != STATUS_PENDING):
        raise DynamicRegistrationFailed(MSG_INVALID_TOKEN)
    return row


def complete_dynamic_registration(token: str | None, openid_configuration: str | None,
                                  registration_token: str | None) -> tuple[PlatformRegistration, Deployment | None]:
    """Steps 1–11: register with the platform, then save its details in one go and spend the token.

    Every failure raises DynamicRegistrationFailed before anything is written.
    """
    token_row = _usable_token(token)
    registration = get_registration(token_row.registration_id)
    try:
        client = ToolRegistration(registration.login_id, openid_configuration, registration_token).register()
    except RegistrationError as error:
        raise DynamicRegistrationFailed(error.message, platform_response=error.platform_response,
                                        registration_id=registration.id) from None
    configuration = client.configuration
    clash = db.session.execute(db.select(PlatformRegistration.id).where(
        PlatformRegistration.issuer == configuration.issuer, PlatformRegistration.client_id == client.client_id,
        PlatformRegistration.id != registration.id)).scalar()
    if clash is not None:
        raise DynamicRegistrationFailed(MSG_DUPLICATE_REGISTRATION, status=409, registration_id=registration.id)
    registration.issuer, registration.client_id = configuration.issuer, client.client_id
    registration.auth_request_url = configuration.authorization_endpoint
    registration.jwks_url = configuration.jwks_uri
    registration.access_token_url = configuration.token_endpoint
    registration.token_audience = configuration.authorization_server
    registration.status = STATUS_ACTIVE
    token_row.used_at = utcnow()
    forget_platform_cache(registration)
    deployment = None
    if client.deployment_id:
        try:
            deployment = add_deployment(registration, client.deployment_id[:255], client.deployment_id)
        except ValidationErrors as error:
            raise DynamicRegistrationFailed(f"The platform's deployment ID was refused: {error.message}",
                                            registration_id=registration.id) from None
    db.session.flush()
    return registration, deployment
