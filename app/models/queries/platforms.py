"""Platform registrations as a launch reads them: pylti1p3's lookups by issuer, client ID or login ID, the
deployment, and the origins that may frame launched pages."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

# With what the rest of a launch reads of them (frame origins, last-seen times), so it need not read them again, and
# when the row last changed (a process verifies with the platform keys it parsed while the row stays as it was).
_REGISTRATION = ("SELECT id, name, issuer, client_id, login_id, auth_request_url, jwks_url, access_token_url, "
                 "token_audience, status, platform_key, frame_origins, last_launch_at, updated_at "
                 "FROM platform_registration ")
_CONVERTED = {"result_json": ("frame_origins",), "result_times": ("last_launch_at", "updated_at")}
BY_CLIENT = DriverStatement(_REGISTRATION + "WHERE issuer = :iss AND client_id = :client_id AND status = :active",
                            **_CONVERTED)
BY_ISSUER = DriverStatement(_REGISTRATION + "WHERE issuer = :iss AND status = :active LIMIT 2", **_CONVERTED)
BY_LOGIN_ID = DriverStatement(_REGISTRATION + "WHERE issuer = :iss AND login_id = :login_id AND status = :active",
                              **_CONVERTED)
DEPLOYMENT = DriverStatement("SELECT id, registration_id, deployment_id, status, last_seen_at FROM deployment "
                             "WHERE registration_id = :registration_id AND deployment_id = :deployment_id "
                             "AND status = :active", result_times=("last_seen_at",))
# Who may frame launched pages (app/services/platforms/framing.py). Without a launch: the Active registrations'
# own issuer and authentication URL, never an origin a launch taught.
CONFIGURED_ORIGINS = DriverStatement(
    "SELECT issuer, auth_request_url, NULL AS frame_origins FROM platform_registration WHERE status = :active",
    result_json=("frame_origins",))
# An LTI 1.3 launch: its registration's, with the origins its launches taught.
REGISTRATION_ORIGINS = DriverStatement(
    "SELECT issuer, auth_request_url, frame_origins FROM platform_registration WHERE id = :id AND status = :active",
    result_json=("frame_origins",))
# An LTI 1.1 launch: the origins that consumer's verified launches on that resource taught, and nothing else.
CONSUMER_ORIGINS = DriverStatement(
    "SELECT NULL AS issuer, NULL AS auth_request_url, frame_origins FROM lti11_consumer "
    "WHERE published_resource_id = :resource AND consumer_key = :key", result_json=("frame_origins",))
