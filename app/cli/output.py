"""One way for every command to print results and errors, as text or as JSON (`--json`)."""
from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any, Callable

import click

from app.extensions import db
from app.limits import MAX_ID
from app.services.errors import ServiceError, ValidationErrors


# An id argument: one a database column can hold, else click's usage error (exit 2), never a traceback.
DB_ID = click.IntRange(0, MAX_ID)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit(data: Any, as_json: bool, text: str | Callable[[], str] | None = None) -> None:
    """Print `data` as JSON, or `text` (default: key: value lines) for people."""
    if as_json:
        click.echo(json.dumps(data, default=_default, indent=2, sort_keys=True))
        return
    if callable(text):
        text = text()
    if text is None:
        rows = data if isinstance(data, list) else [data]
        text = "\n\n".join("\n".join(f"{key}: {value}" for key, value in row.items()) for row in rows) \
            if rows and isinstance(rows[0], dict) else "(none)"
    click.echo(text)


def table(headers: list[str], rows: list[list[str | None]], max_width: int = 40) -> str:
    """Rows as aligned columns under `headers`; empty cells print "-". Cells wider than `max_width` are cut with
    "…", except in the last column, which runs on (it is usually the long text, e.g. a cause)."""
    cells = [[("-" if value in (None, "") else " ".join(str(value).split())) for value in row] for row in rows]
    last = len(headers) - 1
    cells = [[value if index == last or len(value) <= max_width else value[:max_width - 1] + "…"
              for index, value in enumerate(row)] for row in cells]
    widths = [max(len(line[index]) for line in [headers, *cells]) for index in range(last)]
    return "\n".join("  ".join([*(value.ljust(width) for value, width in zip(line, widths)), line[last]]).rstrip()
                     for line in [headers, *cells])


def fail(message: str, as_json: bool, errors: dict[str, str] | None = None) -> None:
    db.session.rollback()
    if as_json:
        click.echo(json.dumps({"error": message, **({"errors": errors} if errors else {})}, indent=2))
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def json_option(command: Callable) -> Callable:
    """Adds --json and turns ServiceErrors into the UI's message with exit code 1 (nothing committed)."""

    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    @wraps(command)
    def wrapped(*args: Any, as_json: bool, **kwargs: Any) -> Any:
        try:
            return command(*args, as_json=as_json, **kwargs)
        except ValidationErrors as error:
            fail(error.message, as_json, error.errors)
        except ServiceError as error:
            fail(error.message, as_json)

    return wrapped
