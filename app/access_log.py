"""gunicorn's access log without the secrets some LTI URLs must carry.

The protocols fix these URLs: an LMS fetches a cartridge and posts an LTI 2 registration to the URL it was given
(its token in the path), dynamic registration opens our URL with the platform's `registration_token` in the query
string, and a new-window launch continues through a single-use handoff URL. Each token would otherwise land in
every access log line (and in the Referer of the next request). `gunicorn.conf.py` at the repository root makes
gunicorn use `RedactingLogger`, which replaces them with `[redacted]` in the request line, path, query string,
Referer and every other header it logs.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# Path segments that are secrets: /lti/v1/cartridge/{id}/{token}.xml, /lti/v2/register/{id}/{token},
# /lti/continue/{token}.
_SECRET_PATHS = re.compile(r"(/lti/v1/cartridge/[^/?#\s]+/)[^/?#\s.]+|(/lti/v2/register/[^/?#\s]+/)[^/?#\s]+"
                           r"|(/lti/continue/)[^/?#\s]+")
# Query parameters whose values are secrets or replayable hints.
SECRET_PARAMETERS = frozenset({"token", "registration_token", "lti_message_hint", "login_hint", "id_token",
                               "state", "client_assertion", "access_token", "jwt", "oauth_signature",
                               "lti_frame", "lti_storage_secret"})


def _path(path: str) -> str:
    return _SECRET_PATHS.sub(lambda match: (match.group(1) or match.group(2) or match.group(3)) + REDACTED, path)


def _query(query: str) -> str:
    if not any(name in query for name in SECRET_PARAMETERS):
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, REDACTED if name in SECRET_PARAMETERS else value) for name, value in pairs],
                     safe="[]")


def redact(uri: str) -> str:
    """A path or URL (with or without a query string) with its secret parts replaced."""
    if not uri:
        return uri
    path, mark, query = uri.partition("?")
    return _path(path) + (mark + _query(query) if mark else "")


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = " ".join(redact(part) if index == 1 else part
                              for index, part in enumerate(str(atoms["r"]).split(" ")))
        atoms["U"] = redact(atoms["U"] or "")
        atoms["q"] = _query(atoms["q"] or "")
        atoms["f"] = redact(atoms["f"] or "")
        for key, value in atoms.items():
            if key.startswith("{") and isinstance(value, str):
                atoms[key] = redact(value)
        return atoms
