"""Forms of the Tool registration screens. They carry input and CSRF; the rules live in services.platforms so
the CLI gives the same messages."""
from flask_wtf import FlaskForm
from wtforms import StringField, URLField

REQUIRED = {"required": True, "aria-required": "true"}


class RegisterPlatformForm(FlaskForm):
    name = StringField("Platform name", render_kw=REQUIRED)


class PlatformDetailsForm(FlaskForm):
    name = StringField("Platform name", render_kw=REQUIRED)
    issuer = URLField("Platform ID (issuer)", render_kw=REQUIRED)
    client_id = StringField("Client ID", render_kw=REQUIRED)
    auth_request_url = URLField("Authentication request URL", render_kw=REQUIRED)
    jwks_url = URLField("Public keyset URL", render_kw=REQUIRED)
    access_token_url = URLField("Access token URL", render_kw=REQUIRED)
    token_audience = StringField("Access token audience")


class DeploymentForm(FlaskForm):
    name = StringField("Deployment name", render_kw=REQUIRED)
    deployment_id = StringField("Deployment ID", render_kw=REQUIRED)


PLATFORM_HELP = {
    "issuer": "The URL identifying the third party learning platform. Will be provided by the platform.",
    "client_id": "A string used to identify the tool registration on the platform. Will be provided by the "
                 "platform.",
    "auth_request_url": "The URL to which OpenID Connect authentication requests will be sent by the tool. Will be "
                        "provided by the platform.",
    "jwks_url": "The public keyset or JWKS URL, used to get the platform's public key. Will be provided by the "
                "platform.",
    "access_token_url": "The URL to which access token requests will be sent by the tool. Will be provided by the "
                        "platform.",
    "token_audience": "The audience to use when requesting access tokens. Leave empty to use the Access token URL. "
                      "Brightspace requires https://api.brightspace.com/auth/token.",
}
NAME_HELP = {"name": "A short name describing the platform. This can be changed at any time."}
DEPLOYMENT_HELP = {
    "deployment_id": "Each deployment of the tool (this site) in a platform will be assigned a Deployment ID that is "
                     "unique to the registration. The Deployment ID must be registered with the tool (this site) "
                     "before launches from the respective tool deployment are allowed.",
}


def show_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Put a service's field messages under the matching fields."""
    for name, message in errors.items():
        form[name].errors = [message]
