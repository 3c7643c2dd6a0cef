"""LTI 1.1 Basic Outcomes: one POX replaceResultRequest, OAuth 1.0a signed with a body hash."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER, Client

from app.lti import outbound, public_address
from app.models.transactions import end_reads

CONTENT_TYPE = "application/xml"
POX_NS = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"
EXCERPT = 500


@dataclass(frozen=True)
class OutcomeResult:
    """What the consumer answered. `retry` marks failures worth trying again later (5xx, network)."""

    sent: bool
    retry: bool
    http_status: int | None
    code_major: str | None
    description: str
    excerpt: str


def score(grade: Decimal, grade_max: Decimal) -> str:
    """grade ÷ maximum as a decimal 0.0–1.0 with at most 4 decimals ("0.75", "1.0", "0.3333")."""
    ratio = (Decimal(grade) / Decimal(grade_max)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    ratio = min(max(ratio, Decimal("0")), Decimal("1"))
    text = format(ratio.normalize(), "f")
    return text if "." in text else f"{text}.0"


def replace_result_xml(sourcedid: str, score_text: str, message_id: str | None = None) -> str:
    """The replaceResult envelope; the sourcedid is the consumer's opaque value and is escaped, not trusted."""
    message_id = message_id or uuid.uuid4().hex
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeRequest xmlns="{POX_NS}">
  <imsx_POXHeader><imsx_POXRequestHeaderInfo>
    <imsx_version>V1.0</imsx_version><imsx_messageIdentifier>{escape(message_id)}</imsx_messageIdentifier>
  </imsx_POXRequestHeaderInfo></imsx_POXHeader>
  <imsx_POXBody><replaceResultRequest><resultRecord>
    <sourcedGUID><sourcedId>{escape(sourcedid)}</sourcedId></sourcedGUID>
    <result><resultScore><language>en</language><textString>{escape(score_text)}</textString></resultScore></result>
  </resultRecord></replaceResultRequest></imsx_POXBody>
</imsx_POXEnvelopeRequest>
"""


def signed_headers(url: str, body: str, consumer_key: str, secret: str, content_type: str) -> dict[str, str]:
    """An OAuth 1.0a HMAC-SHA1 Authorization header; oauthlib adds oauth_body_hash for non-form bodies."""
    client = Client(consumer_key, client_secret=secret, signature_method=SIGNATURE_HMAC_SHA1,
                    signature_type=SIGNATURE_TYPE_AUTH_HEADER)
    _uri, headers, _body = client.sign(url, http_method="POST", body=body, headers={"Content-Type": content_type})
    return dict(headers)


def _status_info(content: bytes) -> tuple[str | None, str]:
    """imsx_codeMajor and imsx_description from a POX response (None when it is not POX at all)."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return None, ""
    code = root.find(f".//{{{POX_NS}}}imsx_codeMajor")
    if code is None:
        code = root.find(".//imsx_codeMajor")  # some consumers answer without the namespace
    description = root.find(f".//{{{POX_NS}}}imsx_description")
    if description is None:
        description = root.find(".//imsx_description")
    return ((code.text or "").strip() if code is not None else None,
            (description.text or "").strip() if description is not None else "")


def send_replace_result(url: str, consumer_key: str, secret: str, sourcedid: str, score_text: str) -> OutcomeResult:
    """POST the score. Success is a 2xx with imsx_codeMajor "success", or a 2xx with an empty body."""
    body = replace_result_xml(sourcedid, score_text)
    headers = signed_headers(url, body, consumer_key, secret, CONTENT_TYPE)
    end_reads(f"POST {url}")
    try:
        response = outbound.post(url, data=body.encode("utf-8"), headers=headers,
                                 public_only=public_address.required())
    except outbound.OutboundError as error:
        return OutcomeResult(False, True, None, None, error.reason, "")
    excerpt = response.text[:EXCERPT]
    if response.status_code == 408 or response.status_code == 429 or response.status_code >= 500:
        return OutcomeResult(False, True, response.status_code, None, f"HTTP {response.status_code}", excerpt)
    if not response.ok:
        return OutcomeResult(False, False, response.status_code, None, f"HTTP {response.status_code}", excerpt)
    if not response.content.strip():
        return OutcomeResult(True, False, response.status_code, None, "", "")
    code, description = _status_info(response.content)
    if code == "success":
        return OutcomeResult(True, False, response.status_code, code, description, excerpt)
    return OutcomeResult(False, False, response.status_code, code,
                         description or "The response was not an imsx_POXEnvelopeResponse.", excerpt)
