"""`flask --app wsgi lti consumers list [--json]`: the legacy consumers admin page."""
from __future__ import annotations

from typing import Any

import click

from app.cli.output import emit, json_option
from app.services.legacy import consumers as legacy


@click.group("consumers")
def consumers() -> None:
    """Legacy LTI (1.1/2.0) consumers seen or registered."""


def _row(summary: legacy.ConsumerSummary) -> dict[str, Any]:
    return {"consumer_key": summary.consumer_key, "name": summary.name, "guid": summary.guid,
            "version": summary.version, "lti_version": summary.lti_version,
            "resources": [{"id": resource.id, "name": resource.name} for resource in summary.resources],
            "last_access": summary.last_access_at}


def _text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No legacy consumer has launched or registered a resource yet."
    blocks = []
    for row in rows:
        resources = ", ".join(f"{resource['name']} (id {resource['id']})" for resource in row["resources"])
        last = row["last_access"].isoformat() if row["last_access"] else "Never"
        blocks.append("\n".join([
            f"consumer_key: {row['consumer_key']}", f"name: {row['name'] or '-'}", f"guid: {row['guid'] or '-'}",
            f"version: {row['version'] or '-'}", f"lti_version: {row['lti_version']}", f"resources: {resources}",
            f"last_access: {last}"]))
    return "\n\n".join(blocks)


@consumers.command("list")
@json_option
def list_consumers(as_json: bool) -> None:
    """Key, name, GUID, version, resources and last access of every consumer key (never a secret)."""
    rows = [_row(summary) for summary in legacy.consumers_overview()]
    emit(rows, as_json, lambda: _text(rows))
