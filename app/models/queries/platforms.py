"""Platform registrations as a launch reads them: pylti1p3's lookups by issuer, client ID or login ID, the
deployment, and the origins that may frame launched pages."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

_REGISTRATION = ("SELECT id, name, issuer, client_id, login_id, auth_request_url, jwks_url, access_token_url, "
                 "token_audience, status FROM platform_registration ")
BY_CLIENT = DriverStatement(_REGISTRATION + "WHERE issuer = :iss AND client_id = :client_id AND status = :active")
BY_ISSUER = DriverStatement(_REGISTRATION + "WHERE issuer = :iss AND status = :active LIMIT 2")
BY_LOGIN_ID = DriverStatement(_REGISTRATION + "WHERE issuer = :iss AND login_id = :login_id AND status = :active")
DEPLOYMENT = DriverStatement("SELECT id, deployment_id FROM deployment WHERE registration_id = :registration_id "
                             "AND deployment_id = :deployment_id AND status = :active")
# Every page of a launched session is framed by these: the Active registrations' issuer, authentication URL and
# learned origins, and the legacy consumers' return URLs.
ORIGINS = DriverStatement(
    "SELECT issuer, auth_request_url, frame_origins FROM platform_registration WHERE status = :active "
    "UNION ALL SELECT NULL, NULL, frame_origins FROM lti11_consumer", result_json=("frame_origins",))
