"""A roster member's profile as a launch would carry it, and the email test member sync applies to thousands
of addresses per run."""
from __future__ import annotations

import re
from typing import Any, NamedTuple

from app.services.accounts.users import is_valid_email

EMAIL_LIMIT = 254


def claim_text(value: Any) -> str | None:
    """A claim's text without surrounding blanks; None for a blank or non-text claim."""
    return value.strip() if isinstance(value, str) and value.strip() else None


class MemberClaims(NamedTuple):
    """An NRPS member's profile under the names a launch uses, so `provisioning.launch_profile` applies as is.
    (A named tuple: made twice for each of thousands of members, and a frozen dataclass is slow to build.)"""

    subject: str
    given_name: str | None
    family_name: str | None
    name: str | None
    email: str | None

    @classmethod
    def of(cls, member: dict[str, Any]) -> "MemberClaims":
        return cls(str(member["user_id"]), claim_text(member.get("given_name")),
                   claim_text(member.get("family_name")), claim_text(member.get("name")),
                   claim_text(member.get("email")))


class EmailCheck:
    """`accounts.is_valid_email`, remembered per domain: a roster's addresses mostly share a few domains, and
    the full check costs about 0.15 ms, most of it on the domain. A plain dot-atom address on a domain the full
    check has accepted before is accepted at once; anything else gets the full check."""

    _PLAIN = re.compile(r"^(?=.{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                        r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")

    def __init__(self) -> None:
        self.domains: set[str] = set()

    def valid(self, address: str) -> bool:
        plain = self._PLAIN.match(address) if len(address) <= EMAIL_LIMIT else None
        if plain and plain.group(1).lower() in self.domains:
            return True
        valid = is_valid_email(address)
        if valid and plain:
            self.domains.add(plain.group(1).lower())
        return valid

