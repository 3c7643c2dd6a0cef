"""Size bounds for what the site accepts, stores and echoes back, so one huge input costs little."""
from __future__ import annotations

from typing import overload

# A whole request body (a deep-linking response of many items fits comfortably) and one non-file form field.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024
MAX_FORM_MEMORY_SIZE = 512 * 1024
MAX_FORM_PARTS = 500
# One value quoted inside a message (an issuer, a target URL): enough to recognise it, never the whole input.
ECHO_LIMIT = 300
TRUNCATED = "… [truncated]"


@overload
def clip(text: str, limit: int) -> str: ...
@overload
def clip(text: None, limit: int) -> None: ...
def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to at most `limit` characters, ending with a visible marker when it was cut."""
    if text is None or len(text) <= limit:
        return text
    return text[:max(limit - len(TRUNCATED), 0)] + TRUNCATED
