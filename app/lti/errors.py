"""Why a launch was refused: the short message the launching user sees, and for the admin's launch log the
failed check, a plain-language cause and a fix.

Every refusal goes through `launch_error(reason, **values)`, so each message is written once and its
placeholders are always substituted.
"""
from __future__ import annotations

import string
from typing import Any, NamedTuple

from app.limits import ECHO_LIMIT, clip

# A message, cause or fix: a few sentences, never a whole input quoted in them.
TEXT_LIMIT = 4000


class LtiError(Exception):
    """A launch-time refusal. `details` carries what was known when it failed (issuer, deployment…), for the log."""

    def __init__(self, message: str, status: int = 400, check_code: str | None = None, cause: str | None = None,
                 fix: str | None = None, **details: Any) -> None:
        message, cause, fix = (clip(text, TEXT_LIMIT) for text in (message, cause, fix))
        super().__init__(message)
        self.message = message
        self.status = status
        self.check_code = check_code
        self.cause = cause
        self.fix = fix
        self.details = details


class _Reason(NamedTuple):
    status: int
    check_code: str
    message: str
    cause: str
    fix: str


_CHECK_PLATFORM = "Check the platform's LTI 1.3 settings for this tool."
_KEYSET_FIX = "Check the Public keyset URL of registration '{name}'; use Test connection."
_CLOCK_FIX = "Check both servers' clocks (NTP) or raise Clock leeway in LTI settings."
_COOKIE_MESSAGE = ("Please make sure you have cookies enabled in this browser and that you are not in private or "
                   "incognito mode")
_REGISTRATION_MESSAGE = ("LTI 1.3 Registration not found for Issuer {iss} and Client ID {client_id}. Please make "
                         "sure the LMS has provided the right information, and that the LMS has been registered "
                         "correctly in the tool.")
_REGISTER_FIX = ("Open Tool registration and register the platform, or correct the Platform ID (issuer) and "
                 "Client ID under Edit platform details to match what the platform shows.")
_RESOURCE_FIX = "Enable it, or add this registration under Available to, or relink."
_LTI11_MESSAGE = ("This is an LTI 1.1 launch sent to the LTI 1.3 Tool URL. Use the legacy Launch URL shown on the "
                  "course's 'Published as LTI tools' page, or set the link up for LTI Advantage.")
_CUSTOM_ID_MESSAGE = ("Invalid launch data. The custom claim field 'id' is required to launch an activity or "
                      "resource over LTI Advantage.")
_RESOURCE_MESSAGE = "Invalid launch data. The resource '{id}' is unavailable or does not exist."
BAD_LAUNCH_MESSAGE = "Bad launch. The launch data could not be found. Please launch the tool again from your course."

REASONS: dict[str, _Reason] = {
    # OIDC login
    "login_no_iss": _Reason(400, "login_parameters", "Could not find issuer",
                            "The login request had no iss parameter.", _CHECK_PLATFORM),
    "login_no_login_hint": _Reason(400, "login_parameters", "Could not find login hint",
                                   "The login request had no login_hint parameter.", _CHECK_PLATFORM),
    "login_no_target": _Reason(400, "login_parameters", "Missing target_link_uri",
                               "The login request had no target_link_uri parameter.", _CHECK_PLATFORM),
    "login_parameter_too_long": _Reason(400, "login_parameters", "The login parameter {name} is too long.",
                                        "The login request's {name} parameter had {length} characters; at most "
                                        "{limit} are accepted.", _CHECK_PLATFORM),
    "login_bad_target": _Reason(
        400, "target_link_uri", "The target_link_uri param must match one of the redirect URIs set during tool "
        "registration.", "The login asked to launch {target}, which is neither this site's Tool URL nor its Deep "
        "linking URL.", "Set the Tool URL {base}/lti/launch and the Deep linking URL {base}/lti/deeplink in the "
        "platform, as shown on the registration's Tool details tab."),
    "registration_not_found": _Reason(400, "registration_not_found", _REGISTRATION_MESSAGE,
                                      "Platform issuer {iss} with client ID {client_id} is not registered. {detail}",
                                      _REGISTER_FIX),
    "registration_pending": _Reason(400, "registration_pending", _REGISTRATION_MESSAGE,
                                    "Registration '{name}' is still Pending: its platform details are incomplete.",
                                    "Open the registration's Platform details tab and fill in every field, or "
                                    "finish dynamic registration."),
    "client_id_mismatch": _Reason(400, "client_id_mismatch", _REGISTRATION_MESSAGE,
                                  "The login URL belongs to registration '{name}' (client ID {a}) but the platform "
                                  "sent client ID {b}.",
                                  "Give the platform this registration's Initiate login URL, or register client ID "
                                  "{b} separately."),
    "cookies_blocked": _Reason(200, "cookies_blocked", "Cookies are blocked by your browser",
                               "The browser kept neither test cookie in the platform's frame (third-party cookies "
                               "are blocked), so the cookie notice was shown.",
                               "The user can open the tool in a new window; platforms that support LTI platform "
                               "storage avoid this."),
    # Launch validation, in check order
    "lti11_post": _Reason(400, "wrong_lti_version", _LTI11_MESSAGE,
                          "An LTI 1.1 launch reached the LTI 1.3 URL.", _LTI11_MESSAGE),
    "no_id_token": _Reason(400, "id_token_missing", "Error: launch requires id_token",
                           "The launch request had no id_token.",
                           "Check that the platform sends LTI 1.3 launches to the Tool URL {base}/lti/launch."),
    "state_unknown": _Reason(401, "state_invalid", _COOKIE_MESSAGE,
                             "The launch's state is missing, expired or already used (the login started more than "
                             "10 minutes earlier, or the launch was submitted twice).",
                             "Launch again from the course. If it keeps failing, check that the platform starts "
                             "each launch at the registration's Initiate login URL."),
    "state_cookie_missing": _Reason(401, "state_cookie_missing", _COOKIE_MESSAGE,
                                    "The browser did not send back the login cookie (third-party cookies are "
                                    "probably blocked).",
                                    "Ask the user to open the tool in a new window or allow cookies for this site; "
                                    "platforms that support LTI platform storage avoid this."),
    "jwt_malformed": _Reason(400, "jwt_malformed", "Invalid id_token, JWT must contain 3 parts",
                             "The id_token is not a well-formed JWT.",
                             "Check the platform's LTI 1.3 settings: launches must carry a signed JWT."),
    "launch_registration": _Reason(
        401, "registration_not_found", "Invalid launch data or tool configuration. A platform registration could "
        "not be found (issuer: {iss}, client ID: {client_id}).",
        "Platform issuer {iss} with client ID {client_id} is not registered. {detail}", _REGISTER_FIX),
    "azp_invalid": _Reason(401, "azp_invalid",
                           "Invalid id_token: the azp claim is missing or does not match the client ID.",
                           "The token's audience is {aud} and its azp is {azp}; this registration's client ID is "
                           "{client_id}.",
                           "Check that the Client ID under Edit platform details matches what the platform shows."),
    "kid_missing": _Reason(401, "kid_missing", "No KID specified in the JWT Header.",
                           "The token header names no signing key (kid).",
                           "Configure the platform to put the key ID (kid) in the header of its tokens."),
    "alg_unsupported": _Reason(401, "alg_unsupported", "Unsupported JWT algorithm '{alg}'.",
                               "The token is signed with '{alg}'; only RS256, RS384, RS512, ES256, ES384 and ES512 "
                               "are accepted.",
                               "Configure the platform to sign LTI tokens with RS256 (or another listed "
                               "algorithm)."),
    "jwks_fetch_failed": _Reason(401, "jwks_fetch_failed", "Failed to fetch public key.",
                                 "The platform keyset at {jwks_url} could not be fetched: {reason}", _KEYSET_FIX),
    "kid_unknown": _Reason(401, "kid_unknown", "Unable to find a public key which matches your JWT.",
                           "The token's signing key {kid} was not in the platform keyset at {jwks_url}{detail}",
                           _KEYSET_FIX),
    "bad_signature": _Reason(401, "bad_signature", "Invalid signature on id_token",
                             "The signature did not verify.", _KEYSET_FIX),
    "token_expired": _Reason(401, "token_expired", "The id_token has expired.",
                             "The token times are off by {n} seconds.", _CLOCK_FIX),
    "token_future": _Reason(401, "token_future", "The id_token was issued in the future. Check the server clocks.",
                            "The token times are off by {n} seconds.", _CLOCK_FIX),
    "claim_too_long": _Reason(400, "claim_length", "Invalid id_token: the {claim} claim is too long.",
                              "The token's {claim} claim is longer than the {limit} characters LTI 1.3 allows.",
                              _CHECK_PLATFORM),
    "token_time_invalid": _Reason(401, "token_times", "Invalid id_token: its {claim} claim is not a valid time.",
                                  "The token's {claim} claim was {value}, not a time between 1970 and 2100.",
                                  _CHECK_PLATFORM),
    "nonce_missing": _Reason(401, "nonce_invalid", "Missing Nonce.",
                             "The token has no nonce.", "Check the platform's LTI 1.3 settings for this tool."),
    "nonce_invalid": _Reason(401, "nonce_invalid", "Invalid Nonce.",
                             "The token's nonce was already used or does not match the login.",
                             "Usually a reload or double submit; launch again from the course."),
    "deployment_id_missing": _Reason(400, "deployment_id_missing", "No deployment ID was specified",
                                     "The token has no deployment_id claim.", _CHECK_PLATFORM),
    "deployment_unknown": _Reason(403, "deployment_unknown",
                                  "Invalid launch data or tool configuration. The deployment could not be found "
                                  "(deployment ID: {deployment_id}).",
                                  "Deployment ID {deployment_id} of registration '{name}' is not added.",
                                  "Open the registration's Deployments tab and approve it, or use Add a "
                                  "deployment."),
    "deployment_pending": _Reason(403, "deployment_pending",
                                  "Launches from this deployment are waiting for approval by the administrator of "
                                  "this tool (deployment ID: {deployment_id}).",
                                  "Deployment ID {deployment_id} of registration '{name}' is not added.",
                                  "Open the registration's Deployments tab and approve it, or use Add a "
                                  "deployment."),
    "message_type_missing": _Reason(400, "message_type", "Invalid message type",
                                    "The token has no message_type claim.", _CHECK_PLATFORM),
    "message_type_wrong": _Reason(400, "message_type", "Unrecognized message type.",
                                  "A {received} message was sent to the URL for {expected} messages.",
                                  "Configure the Deep linking URL as the content selection URL and the Tool URL as "
                                  "the launch URL."),
    "version_missing": _Reason(400, "version", "Missing LTI Version", "The token has no version claim.",
                               _CHECK_PLATFORM),
    "version_wrong": _Reason(400, "version", "Incorrect version, expected 1.3.0",
                             "The token says LTI version {version}.", _CHECK_PLATFORM),
    "sub_missing": _Reason(400, "sub_missing", "Must have a user (sub)",
                           "The launch is anonymous (no sub claim); Courseport needs to know the user.",
                           "Configure the platform to send user identity with launches of this tool."),
    "roles_missing": _Reason(400, "roles_missing", "Missing Roles Claim", "The token has no roles claim.",
                             _CHECK_PLATFORM),
    "resource_link_missing": _Reason(400, "resource_link_missing", "Missing Resource Link Id",
                                     "The token's resource_link claim has no id.", _CHECK_PLATFORM),
    "dl_settings_missing": _Reason(400, "deep_linking_settings", "Missing Deep Linking Settings",
                                   "The deep linking request has no deep_linking_settings claim.", _CHECK_PLATFORM),
    "dl_return_url_missing": _Reason(400, "deep_linking_settings", "Missing Deep Linking Return URL",
                                     "The deep linking settings have no deep_link_return_url.", _CHECK_PLATFORM),
    "dl_accept_types": _Reason(400, "deep_linking_settings", "Must support resource link placement types",
                               "The platform does not accept ltiResourceLink items.", _CHECK_PLATFORM),
    "dl_presentation": _Reason(400, "deep_linking_settings", "Must support a presentation type",
                               "The deep linking settings list no presentation document targets.", _CHECK_PLATFORM),
    "target_link_uri_foreign": _Reason(400, "target_link_uri", "The target_link_uri claim does not point to this "
                                       "tool.", "The token's target_link_uri is {target}, outside {base}/.",
                                       "Set the link's launch URL in the platform to {base}/lti/launch."),
    "lti1p1_invalid": _Reason(401, "oauth_signature", "{claim_error}",
                              "The lti1p1 migration claim names consumer key {key} but does not prove it: "
                              "{claim_error}",
                              "Check that the LTI 1.1 secret the platform uses for consumer key {key} matches the "
                              "Secret of a legacy resource here, or remove the migration claim in the platform."),
    # The published resource
    "missing_custom_id": _Reason(400, "missing_custom_id", _CUSTOM_ID_MESSAGE,
                                 "The link has no custom parameter id.",
                                 "Create the link through content selection, or add the custom parameter \"id=\" "
                                 "with the UUID shown on the course's Published as LTI tools page."),
    "course_not_linked": _Reason(400, "missing_custom_id",
                                 "This course has not been set up yet. A teacher must first add the course through "
                                 "content selection (add this tool's content to the course, for example to a "
                                 "module), then open it once from there.",
                                 "The link has no custom parameter id (a course navigation link) and no Courseport "
                                 "course is linked yet in context {context_id} of deployment {deployment_id}.",
                                 "Have a teacher add the course through content selection (in Canvas: Link "
                                 "Selection or Assignment Selection) and open that link once; course navigation "
                                 "then opens it."),
    "course_link_ambiguous": _Reason(400, "missing_custom_id", _CUSTOM_ID_MESSAGE,
                                     "The link has no custom parameter id (a course navigation link) and several "
                                     "Courseport courses are linked in context {context_id} of deployment "
                                     "{deployment_id}, so it names none of them.",
                                     "Open each course through its own link, or keep one Courseport course per "
                                     "platform course to use course navigation."),
    "resource_missing": _Reason(404, "resource_unavailable", _RESOURCE_MESSAGE, "Resource {id} does not exist.",
                                _RESOURCE_FIX),
    "resource_disabled": _Reason(404, "resource_unavailable", _RESOURCE_MESSAGE, "Resource {id} is disabled.",
                                 _RESOURCE_FIX),
    "resource_activity_deleted": _Reason(404, "resource_unavailable", _RESOURCE_MESSAGE,
                                         "Resource {id}: its activity was deleted.", _RESOURCE_FIX),
    "resource_restricted": _Reason(404, "resource_unavailable", _RESOURCE_MESSAGE,
                                   "Resource {id} is not available to registration '{name}'.", _RESOURCE_FIX),
    # Accounts and enrolment
    "account_suspended": _Reason(403, "account_suspended",
                                 "This account is suspended. Please contact the administrator of this tool.",
                                 "Account {username} is suspended.",
                                 "Unsuspend the account under Site administration > Users if it should have "
                                 "access."),
    "account_creation_prohibited": _Reason(403, "account_creation_prohibited",
                                           "Account creation is currently prohibited on this site.",
                                           "The user has no account here and account creation from launches is "
                                           "not allowed.",
                                           "Turn on 'Allow account creation from launches' in LTI settings, or "
                                           "have the user link an existing account."),
    "max_users": _Reason(403, "max_users", "The maximum number of remote users allowed to access the tool has been "
                         "reached.", "Resource {id} already has its maximum of {max} enrolled users.",
                         "Raise 'Maximum enrolled users' on the resource's publish form, or set it to 0."),
    "enrolment_not_started": _Reason(403, "enrolment_dates", "Enrolment has not started.",
                                     "Resource {id} only accepts launches from {start}.",
                                     "Change or disable the resource's Start date."),
    "enrolment_finished": _Reason(403, "enrolment_dates", "Enrolment finished.",
                                  "Resource {id} stopped accepting launches on {end}.",
                                  "Change or disable the resource's End date."),
    "enrolment_expired": _Reason(403, "enrolment_dates", "Enrolment finished.",
                                 "The user's enrolment through resource {id} ended on {end} (Enrolment duration).",
                                 "Lengthen or disable the resource's Enrolment duration, or unenrol the user so "
                                 "the next launch enrols them again."),
    # Resuming a launch
    "bad_launch": _Reason(400, "bad_launch", BAD_LAUNCH_MESSAGE,
                          "The launch id is unknown, expired, already used or belongs to another browser.",
                          "Launch again from the course."),
    "frame_session_ended": _Reason(401, "frame_session_ended",
                                   "This page has expired. Please launch the tool again from your course.",
                                   "A page inside the platform's frame named a spent or expired frame session "
                                   "token (the browser keeps no cookie there; back and reload end the session).",
                                   "Launch the tool again from the course."),
    # Content selection: the response was already sent, or the launch is gone
    "deep_link_launch_missing": _Reason(400, "bad_launch", "Bad launch. Deep linking launch data could not be found",
                                        "The deep linking launch id is unknown, expired, already answered or belongs "
                                        "to another browser.",
                                        "Usually a reload or a second submit; start content selection again from "
                                        "the course."),
}


class _Values(dict):
    """Missing or empty values read "(N/A)" so no raw placeholder ever reaches a person."""

    def __missing__(self, key: str) -> str:
        return "(N/A)"


def _fill(template: str, values: _Values) -> str:
    return string.Formatter().vformat(template, (), values).strip()


def launch_error(reason: str, **values: Any) -> LtiError:
    """The LtiError for `reason`, with `values` substituted into its message, cause and fix.

    `values` also travel as `details` so the log can record the issuer, deployment and so on.
    """
    spec = REASONS[reason]
    filled = _Values({key: clip(value, ECHO_LIMIT) if isinstance(value, str) else value
                      for key, value in values.items() if value not in (None, "")})
    filled.setdefault("detail", "")
    return LtiError(_fill(spec.message, filled), spec.status, spec.check_code, _fill(spec.cause, filled),
                    _fill(spec.fix, filled), reason=reason, **values)
