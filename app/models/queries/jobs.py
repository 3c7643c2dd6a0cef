"""The sync worker's per-job statements: an ORM or Core statement costs several times as much in Python before
the database sees it."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement
from app.models.jobs import JOB_PENDING, JOB_RUNNING

_CLAIM_SET = f"UPDATE sync_job SET status = '{JOB_RUNNING}', locked_by = :me, locked_until = :until, updated_at = :now "
CLAIM = DriverStatement(_CLAIM_SET + f"WHERE id = :job_id AND status = '{JOB_PENDING}'", times=("until", "now"))
# A batch in one statement: RETURNING names exactly the rows this UPDATE changed, so each job still goes to
# the one worker whose statement claimed it.
CLAIM_MANY = DriverStatement(_CLAIM_SET + f"WHERE id IN :job_ids AND status = '{JOB_PENDING}' RETURNING id",
                             times=("until", "now"), expanding=("job_ids",))
# PostgreSQL: rows another worker holds (its due query or its own claim, not yet committed) are passed over
# rather than waited for; SQLite has one writer at a time anyway.
CLAIM_MANY_SKIP_LOCKED = DriverStatement(
    _CLAIM_SET + f"WHERE id IN (SELECT id FROM sync_job WHERE id IN :job_ids AND status = '{JOB_PENDING}' "
    "FOR UPDATE SKIP LOCKED) RETURNING id", times=("until", "now"), expanding=("job_ids",), dialect="postgresql")
# Run for every job.
FINISH = DriverStatement(
    "UPDATE sync_job SET status = :new_status, finished_at = :now, attempts = :new_attempts, locked_by = NULL, "
    "locked_until = NULL, last_http_status = :http_status, last_error = :error, result = :new_result, "
    "updated_at = :now WHERE id = :job_id AND locked_by = :me", times=("now",), json=("new_result",))
