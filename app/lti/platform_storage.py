"""LTI platform storage: where a browser that keeps no cookie for us in the platform's frame keeps the login's
secret instead.

At login the page sends `lti.put_data` (key `lti_state_{state}`, value a random secret kept with the login
state) to the frame the platform named in `lti_storage_target`; at launch, when the state cookie did not come
back, a page asks for it again with `lti.get_data` and posts it with the id_token. The secret proves the launch
POST comes from the browser that started the login, as the state cookie would. Messages go to, and are only
accepted from, the origin of the registration's authentication URL.
"""
from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

# A frame name the page may look up (`_parent`, or a named frame such as Canvas's `post_message_forwarding`);
# anything else is ignored as if the platform had not asked for platform storage.
_TARGET = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
SECRET_FIELD = "lti_storage_secret"
SECRET_LENGTH = 32  # token_urlsafe(24)
# How long each page waits for the platform's answer before it falls back to a new window.
ANSWER_TIMEOUT_MS = 2000
_DEFAULT_PORTS = {"http": 80, "https": 443}


def storage_target(value: str | None) -> str | None:
    """The `lti_storage_target` parameter when it names a frame, else None."""
    return value if value and _TARGET.fullmatch(value) else None


def platform_origin(auth_request_url: str | None) -> str | None:
    """The origin (as `event.origin` spells it) of the registration's authentication request URL."""
    try:
        parts = urlsplit(auth_request_url or "")
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def storage_key(state: str) -> str:
    return f"lti_state_{state}"


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def secret_matches(sent: str | None, kept: str | None) -> bool:
    """Constant-time comparison of the secret the launch page fetched with the one the login kept."""
    if not sent or not kept or len(sent) > SECRET_LENGTH * 2:
        return False
    return hmac.compare_digest(sent.encode(), kept.encode())


@dataclass(frozen=True)
class StorageRequest:
    """What a storage page needs: which frame to ask, the only origin to talk to, the key, and (at login) the
    value to store."""

    target: str
    origin: str
    key: str
    value: str | None = None

    def script_config(self, *, timeout_ms: int = ANSWER_TIMEOUT_MS) -> dict[str, object]:
        config: dict[str, object] = {"target": self.target, "origin": self.origin, "key": self.key,
                                     "timeout": timeout_ms}
        if self.value is not None:
            config["value"] = self.value
        return config


class StorageNeeded(Exception):
    """The launch POST came without the state cookie, and its login kept a secret in platform storage: the
    launch page must fetch it and post the launch again with it."""

    def __init__(self, request: StorageRequest, relaunch_url: str | None) -> None:
        super().__init__("the launch's login secret is in platform storage")
        self.request = request
        self.relaunch_url = relaunch_url
