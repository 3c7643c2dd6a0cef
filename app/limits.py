"""Size bounds for what the site accepts, stores and echoes back, so one huge input costs little."""
from __future__ import annotations

from typing import Any, overload

from werkzeug.routing import IntegerConverter, Map

# A whole request body (a deep-linking response of many items fits comfortably) and one non-file form field.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024
MAX_FORM_MEMORY_SIZE = 512 * 1024
MAX_FORM_PARTS = 500
# One value quoted inside a message (an issuer, a target URL): enough to recognise it, never the whole input.
ECHO_LIMIT = 300
TRUNCATED = "… [truncated]"


# The largest integer a database column holds (SQLite INTEGER, PostgreSQL BIGINT): a larger id from a URL, query
# string, form or command line cannot name a row, and handing it to the driver fails.
MAX_ID = 2 ** 63 - 1
MAX_PAGE = 10 ** 6  # page numbers: page × rows per page must stay a database integer too


def db_int(text: str) -> int:
    """A whole number from 0 to MAX_ID, else ValueError (so `request.args.get(name, type=db_int)` falls back to its
    default, as for any text that is not a number)."""
    text = str(text).strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)) or int(text) > MAX_ID:
        raise ValueError(f"not a whole number from 0 to {MAX_ID}")
    return int(text)


def page_number(text: str) -> int:
    """A page number from 1 to MAX_PAGE, else ValueError."""
    value = db_int(text)
    if not 1 <= value <= MAX_PAGE:
        raise ValueError(f"not a page number from 1 to {MAX_PAGE}")
    return value


def is_db_int(text: str) -> bool:
    try:
        db_int(text)
    except ValueError:
        return False
    return True


@overload
def clip(text: str, limit: int) -> str: ...
@overload
def clip(text: None, limit: int) -> None: ...
def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to at most `limit` characters, ending with a visible marker when it was cut."""
    if text is None or len(text) <= limit:
        return text
    return text[:max(limit - len(TRUNCATED), 0)] + TRUNCATED


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in routes: an id beyond what a database column holds is a 404 like any unknown id."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
