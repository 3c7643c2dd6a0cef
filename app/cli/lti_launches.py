"""`flask --app wsgi lti launches list [--failed] [--limit N] [--json]`: the launch log screen.

Same query, order and labels as Site administration > Launch log; only identifiers are printed (the log never
holds tokens, secrets or signatures).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cli.output import emit, json_option, table
from app.services.launch import log as launch_log
from app.templating import format_datetime

HEADERS = ["Time", "Kind", "Outcome", "Registration / consumer key", "Deployment ID", "User", "Resource", "Cause"]


@click.group("launches", cls=AppGroup)
def launches() -> None:
    """The launch log: every launch attempt, newest first."""


def _text(rows: list[launch_log.LaunchRow], failed_only: bool) -> str:
    if not rows:
        return "No failed launch attempts." if failed_only else "No launch attempts."
    return table(HEADERS, [[format_datetime(row.log.at), row.log.kind, row.outcome_label, row.registration,
                            row.log.deployment_id, row.user, row.resource, row.log.cause] for row in rows])


@launches.command("list")
@click.option("--failed", "failed_only", is_flag=True, help='Only attempts whose outcome is "Failed".')
@click.option("--limit", default=str(launch_log.DEFAULT_LIST_LIMIT), show_default=True, metavar="N",
              help="How many of the newest attempts to show.")
@json_option
def list_launches(failed_only: bool, limit: str, as_json: bool) -> None:
    """The newest attempts: time, kind, outcome, registration, deployment, user, resource and cause."""
    rows = launch_log.launch_rows(launch_log.recent_launches(failed_only=failed_only,
                                                             limit=launch_log.parse_limit(limit)))
    emit([row.as_dict() for row in rows], as_json, lambda: _text(rows, failed_only))
