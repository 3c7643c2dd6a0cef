"""`flask --app wsgi check` and `flask --app wsgi db backup|copy-to`: installing, upgrading and moving an
installation. The `db` commands join Flask-Migrate's own `db` group, next to `db upgrade`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli.output import emit, json_option, table
from app.services.operations.backup import backup_database
from app.services.operations.checks import Finding, run_checks
from app.services.operations.database_copy import CopyResult, copy_database


def _copy_text(result: CopyResult) -> str:
    rows = [[name, str(count)] for name, count in result.rows.items()]
    return (table(["Table", "Rows"], rows) + f"\n\nCopied {sum(result.rows.values())} rows in {len(result.rows)} "
            f"tables to {result.target} (revision {result.revision}); every table's row count matches.\n"
            "Next: set DATABASE_URL to the new database on every web and worker process, then restart them.")


@click.command("copy-to")
@click.option("--target", required=True, metavar="URL",
              help="The new database: created, migrated with `db upgrade`, and empty, e.g. "
                   "postgresql+psycopg://courseport@127.0.0.1:5432/courseport (a password is better kept in "
                   "~/.pgpass than on the command line).")
@json_option
@with_appcontext
def copy_to(target: str, as_json: bool) -> None:
    """Copy every table of this installation's database into another, empty one (e.g. SQLite to PostgreSQL)."""
    result = copy_database(target)
    emit(result.as_dict(), as_json, lambda: _copy_text(result))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@json_option
@with_appcontext
def backup(path: str, as_json: bool) -> None:
    """Write a consistent copy of the SQLite database to the new file PATH, while the app keeps running."""
    result = backup_database(path)
    emit(result.as_dict(), as_json, f"Backed up {result.tables} tables ({result.bytes} bytes) to {result.path}.")


def _check_text(findings: list[Finding]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"{'ok' if finding.ok else 'PROBLEM':8} {finding.check}: {finding.message}")
        if not finding.ok and finding.fix:
            lines.append(f"{'':8} fix: {finding.fix}")
    problems = sum(not finding.ok for finding in findings)
    lines.append(f"\n{problems} problem(s) found." if problems else "\nNo problems found.")
    return "\n".join(lines)


@click.command("check")
@json_option
@with_appcontext
def check(as_json: bool) -> None:
    """Check this installation's setup: each problem is printed with its fix; exits 1 when there is any."""
    findings = run_checks()
    ok = all(finding.ok for finding in findings)
    emit({"ok": ok, "checks": [finding.as_dict() for finding in findings]}, as_json, lambda: _check_text(findings))
    if not ok:
        raise SystemExit(1)
