"""Launch validation on pylti1p3's FlaskMessageLaunch, hardened where the library is lax.

The library checks in its own order, trusts the first `aud`, fetches keysets without caching headers, accepts
whatever `alg` the JWK names, has no clock leeway and keeps the nonce in the cookie session. This subclass runs
Our checks in a fixed order with our own messages: the state bound to the browser, `aud` arrays with `azp`, an
algorithm allow-list, cached platform keys, leeway on token times, and a nonce used up by an INSERT only one
request can win.
"""
from __future__ import annotations

import binascii
import hmac
import secrets
import time
from typing import Any

from jwt.utils import base64url_decode
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch
from pylti1p3.exception import LtiException

from app.lti import login_state, outbound, platform_keys
from app.lti.legacy import migration_claim as lti1p1_migration
from app.lti.adapters import LaunchRequest, SignedStateSession
from app.lti.errors import LtiError, launch_error
from app.lti.identity import platform_scope
from app.lti.launch_data import (
    CONTEXT, DEEP_LINKING_REQUEST, DEEP_LINKING_SETTINGS, DEPLOYMENT_ID, LTI1P1, MESSAGE_TYPE, RESOURCE_LINK,
    RESOURCE_LINK_REQUEST, ROLES, TARGET_LINK_URI, VERSION, LaunchData,
)
from app.lti.login_state import LoginState
from app.lti.platform_storage import SECRET_FIELD, StorageNeeded, StorageRequest, secret_matches, storage_key
from app.lti.storage import DbLaunchDataStorage
from app.lti.tool_config import DbToolConf, ToolDeployment, ToolRegistration


def _audiences(aud: Any) -> list[str]:
    if isinstance(aud, str):
        return [aud]
    return [item for item in aud if isinstance(item, str)] if isinstance(aud, list) else []


# The endpoint a login sent the platform back to, by the message type that endpoint accepts.
_TARGETS = {RESOURCE_LINK_REQUEST: "launch", DEEP_LINKING_REQUEST: "deeplink"}
LATEST_TIME = 4102444800  # 2100-01-01: a later token time is garbage, and its clock skew no database integer


IDENTIFIER_LIMIT = 255  # LTI 1.3: sub, deployment_id, context and resource link ids are at most 255 characters


def _check_length(claim: str, value: Any) -> None:
    if len(str(value)) > IDENTIFIER_LIMIT:
        raise launch_error("claim_too_long", claim=claim, limit=IDENTIFIER_LIMIT)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class CourseportMessageLaunch(FlaskMessageLaunch):
    def __init__(self, params: LaunchRequest, storage: DbLaunchDataStorage, *, base_url: str, leeway: int,
                 message_type: str) -> None:
        super().__init__(params, DbToolConf(), session_service=SignedStateSession(params),
                         cookie_service=FlaskCookieService(params), requests_session=outbound.session())
        self._storage = storage
        self._base_url = base_url
        self._leeway = leeway
        self._expected_type = message_type
        self._login: LoginState | None = None
        self._deployment: ToolDeployment | None = None
        self._registration = None  # the library only declares it; progress() reads it even when #1 fails
        self.state_consumed = False
        self.clock_skew: int | None = None
        self._migration: lti1p1_migration.MigrationClaim | None = None
        self.bound_by_storage = False

    # The checks, in order -------------------------------------------------------------------------
    def validate(self) -> "CourseportMessageLaunch":
        self._validated = True  # the library re-enters validate() from its getters unless this is set
        self._check_request()
        self._check_state()
        self.validate_jwt_format()
        self.validate_registration()
        self._check_azp()
        self.validate_jwt_signature()
        self._check_times()
        self.validate_nonce()
        self.validate_deployment()
        self.validate_message()
        self._check_target_link_uri()
        self._check_migration_claim()
        return self

    def _check_request(self) -> None:
        if not self._get_request_param("id_token"):
            if self._get_request_param("oauth_consumer_key") or self._get_request_param("lti_message_type"):
                raise launch_error("lti11_post")
            raise launch_error("no_id_token", base=self._base_url)

    def _check_state(self) -> None:
        """#4: a state this site signed in the last 10 minutes, for this endpoint, and from this browser."""
        state = self._get_request_param("state") or ""
        login = login_state.read(state) if state else None
        if login is None or login.target != _TARGETS.get(self._expected_type):
            raise launch_error("state_unknown")
        self._login = login
        cookie = self._cookie_service.get_cookie(state) or ""
        if hmac.compare_digest(cookie, state):
            return
        # Through platform storage: the login kept a secret there; the launch page fetches it and posts again.
        target, origin = login.storage_target, login.storage_origin
        sent = self._get_request_param(SECRET_FIELD) if target and origin else None
        if sent is not None and secret_matches(sent, login_state.storage_secret(login.nonce)):
            self.bound_by_storage = True
            return
        # Not bound to this browser. A state posted again after its launch (which expired its cookie) is refused as
        # used, as it is when it is still bound (validate_nonce).
        if self._storage.get_value(login_state.used_nonce_key(login.nonce)) is not None:
            raise launch_error("state_unknown")
        if target and origin and sent is None:
            raise StorageNeeded(StorageRequest(target, origin, storage_key(login.nonce)), login.relaunch_url)
        raise launch_error("state_cookie_missing")

    @property
    def login(self) -> LoginState:
        assert self._login is not None, "_check_state() runs first"
        return self._login

    def validate_jwt_format(self) -> "CourseportMessageLaunch":
        try:
            super().validate_jwt_format()
        except LtiException:
            raise launch_error("jwt_malformed") from None
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(self._jwt.get("body"), dict):
            raise launch_error("jwt_malformed")
        return self

    def validate_registration(self) -> "CourseportMessageLaunch":
        """#6: the token must come from the registration the login was for: same issuer, our client ID in aud."""
        body = self._jwt["body"]
        iss, audiences = body.get("iss"), _audiences(body.get("aud"))
        client_id = self.login.client_id
        registration = None
        if isinstance(iss, str) and client_id in audiences:
            registration = self._tool_config.find_registration_by_params(iss, client_id)
        if registration is None or registration.model.id != self.login.registration_id:
            raise launch_error("launch_registration", iss=iss if isinstance(iss, str) else None,
                               client_id=", ".join(audiences) or None,
                               detail="The token's issuer and audience do not match the registration its login "
                                      "was for.")
        self._registration = registration
        return self

    def _check_azp(self) -> None:
        body = self._jwt["body"]
        audiences, azp = _audiences(body.get("aud")), body.get("azp")
        client_id = self.registration.get_client_id()
        if (len(audiences) > 1 and not azp) or (azp is not None and azp != client_id):
            raise launch_error("azp_invalid", aud=", ".join(audiences), azp=azp, client_id=client_id)

    def validate_jwt_signature(self) -> "CourseportMessageLaunch":
        header = self._jwt["header"]
        kid, alg = header.get("kid"), header.get("alg")
        if not kid or not isinstance(kid, str):
            raise launch_error("kid_missing")
        if alg not in platform_keys.ALLOWED_ALGS:
            raise launch_error("alg_unsupported", alg=str(alg))
        key = platform_keys.key_for(self.registration.model, kid, alg)
        # PyJWT's algorithm object checks the signature over the exact header.payload the platform sent.
        # (PyJWS.decode_complete would first re-validate every base64 character in Python: a tenth of a
        # millisecond per launch, for segments validate_jwt_format has already decoded.)
        header, payload, signature = self._get_id_token().split(".")
        try:
            valid = key.Algorithm.verify(f"{header}.{payload}".encode(), key.key, base64url_decode(signature))
        except (ValueError, binascii.Error):
            valid = False
        if not valid:
            raise launch_error("bad_signature", name=self.registration.model.name)
        return self

    def _check_times(self) -> None:
        body, now = self._jwt["body"], time.time()
        exp, iat, nbf = _number(body.get("exp")), _number(body.get("iat")), _number(body.get("nbf"))
        for claim, value in (("exp", exp), ("iat", iat), ("nbf", nbf)):
            if value is not None and not 0 <= value <= LATEST_TIME:  # also infinity and NaN
                raise launch_error("token_time_invalid", claim=claim, value=body.get(claim))
        if iat is not None:
            self.clock_skew = round(iat - now)
        if exp is None or exp <= now - self._leeway:
            raise launch_error("token_expired", n=round(now - exp) if exp is not None else None)
        for issued in (iat, nbf):
            if issued is not None and issued > now + self._leeway:
                raise launch_error("token_future", n=round(issued - now))

    def validate_nonce(self) -> "CourseportMessageLaunch":
        """#12: the nonce the login issued, used up by exactly this request: the one INSERT of it that wins. A
        state posted again (a reload, a double submit, a replay) is refused as a used state."""
        nonce = self._jwt["body"].get("nonce")
        if not nonce or not isinstance(nonce, str):
            raise launch_error("nonce_missing")
        if not hmac.compare_digest(nonce, self.login.nonce):
            raise launch_error("nonce_invalid")
        if not self._storage.claim(login_state.used_nonce_key(nonce), exp=login_state.USED_NONCE_LIFETIME):
            raise launch_error("state_unknown")
        self.state_consumed = True
        return self

    def validate_deployment(self) -> "CourseportMessageLaunch":
        body = self._jwt["body"]
        deployment_id = body.get(DEPLOYMENT_ID)
        if not deployment_id or not isinstance(deployment_id, str):
            raise launch_error("deployment_id_missing")
        _check_length("deployment_id", deployment_id)
        registration = self.registration
        self._deployment = self._tool_config.find_deployment_by_params(
            registration.get_issuer(), deployment_id, registration.get_client_id(), registration=registration)
        if self._deployment is None:
            context = body.get("https://purl.imsglobal.org/spec/lti/claim/context")
            title = context.get("title") if isinstance(context, dict) else None
            raise launch_error("deployment_unknown", deployment_id=deployment_id, name=registration.model.name,
                               registration=registration.model, context_title=title if isinstance(title, str)
                               else None)
        return self

    def validate_message(self) -> "CourseportMessageLaunch":
        body = self._jwt["body"]
        message_type = body.get(MESSAGE_TYPE)
        if not message_type:
            raise launch_error("message_type_missing")
        if message_type != self._expected_type:
            raise launch_error("message_type_wrong", received=str(message_type), expected=self._expected_type)
        version = body.get(VERSION)
        if not version:
            raise launch_error("version_missing")
        if version != "1.3.0":
            raise launch_error("version_wrong", version=str(version))
        if not body.get("sub") or not isinstance(body["sub"], (str, int)):
            raise launch_error("sub_missing")
        _check_length("sub", body["sub"])
        for claim, name in ((RESOURCE_LINK, "resource_link.id"), (CONTEXT, "context.id")):
            if isinstance(body.get(claim), dict) and body[claim].get("id") is not None:
                _check_length(name, body[claim]["id"])
        if not isinstance(body.get(ROLES), list):
            raise launch_error("roles_missing")
        if message_type == DEEP_LINKING_REQUEST:
            self._check_deep_linking_settings(body.get(DEEP_LINKING_SETTINGS))
        else:
            link = body.get(RESOURCE_LINK)
            if not isinstance(link, dict) or not link.get("id"):
                raise launch_error("resource_link_missing")
        return self

    @staticmethod
    def _check_deep_linking_settings(settings: Any) -> None:
        if not isinstance(settings, dict) or not settings:
            raise launch_error("dl_settings_missing")
        if not settings.get("deep_link_return_url"):
            raise launch_error("dl_return_url_missing")
        accept_types = settings.get("accept_types")
        if not isinstance(accept_types, list) or "ltiResourceLink" not in accept_types:
            raise launch_error("dl_accept_types")
        if not settings.get("accept_presentation_document_targets"):
            raise launch_error("dl_presentation")

    def _check_target_link_uri(self) -> None:
        target = self._jwt["body"].get(TARGET_LINK_URI)
        if target is not None and not (isinstance(target, str) and target.startswith(self._base_url + "/")):
            raise launch_error("target_link_uri_foreign", target=str(target), base=self._base_url)

    def _check_migration_claim(self) -> None:
        """#22: an lti1p1 claim naming a consumer key must prove it; only a proven claim is kept."""
        try:
            self._migration = lti1p1_migration.verify_claim(self._jwt["body"], self.registration.get_client_id())
        except lti1p1_migration.MigrationClaimError as error:
            claim = self._jwt["body"].get(LTI1P1)
            raise launch_error("lti1p1_invalid", claim_error=error.message,
                               key=claim.get("oauth_consumer_key") if isinstance(claim, dict) else None) from None

    # What the caller needs ---------------------------------------------------------------------------------
    @property
    def registration(self) -> ToolRegistration:
        assert isinstance(self._registration, ToolRegistration), "validate_registration() runs first"
        return self._registration

    def launch_data(self) -> LaunchData:
        assert self._deployment is not None, "validate() runs first"
        data = LaunchData.from_claims(
            self._jwt["body"], launch_id=secrets.token_urlsafe(24), registration_id=self.registration.model.id,
            deployment_pk=self._deployment.model.id, client_id=self.registration.get_client_id() or "",
            cookie_method="storage" if self.bound_by_storage else self.login.cookie_method,
            storage_target=self.login.storage_target, clock_skew=self.clock_skew or 0)
        data.identity_scope = platform_scope(self.registration.model.platform_key)
        data.lti1p1 = {"oauth_consumer_key": self._migration.consumer_key, "user_id": self._migration.user_id,
                       "scope": self._migration.scope} if self._migration else None
        return data

    def progress(self) -> dict[str, Any]:
        """What was known when a check failed, for the launch log (identifiers only, never the token)."""
        body = self._jwt.get("body") if isinstance(self._jwt.get("body"), dict) else {}
        link = body.get(RESOURCE_LINK)
        registration = self._registration.model if isinstance(self._registration, ToolRegistration) else None
        audiences = _audiences(body.get("aud"))
        return {
            "registration": registration,
            "iss": body.get("iss") if isinstance(body.get("iss"), str) else None,
            "client_id": registration.client_id if registration else (audiences[0] if audiences else None),
            "deployment_id": body.get(DEPLOYMENT_ID) if isinstance(body.get(DEPLOYMENT_ID), str) else None,
            "subject": str(body["sub"]) if isinstance(body.get("sub"), (str, int)) else None,
            "message_type": body.get(MESSAGE_TYPE) if isinstance(body.get(MESSAGE_TYPE), str) else None,
            "resource_link_id": str(link["id"]) if isinstance(link, dict) and link.get("id") else None,
            "cookie_method": self._login.cookie_method if self._login else None,
            "clock_skew": self.clock_skew,
            "state_consumed": self.state_consumed,
            "state": self._get_request_param("state"),
        }


def run(params: LaunchRequest, *, base_url: str, leeway: int, message_type: str) -> LaunchData:
    """Validate the launch POST; on failure the LtiError's details say how far it got."""
    launch = CourseportMessageLaunch(params, DbLaunchDataStorage(), base_url=base_url, leeway=leeway,
                                     message_type=message_type)
    try:
        launch.validate()
    except LtiError as error:
        error.details = {**launch.progress(), **error.details}
        raise
    return launch.launch_data()
