"""The housekeeping sweeps: tool key upkeep (daily) and cleanup of expired rows (hourly)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_

from app.extensions import db
from app.lti import keys
from app.models import LaunchLog, Lti11Nonce, LtiStorageEntry, RegistrationToken, SyncJob
from app.models.base import utcnow
from app.models.jobs import JOB_DONE
from app.services.platforms.settings import lti_setting

DONE_JOB_RETENTION = timedelta(days=30)


def key_maintenance() -> dict[str, Any]:
    """Retire Previous keys past their grace period and make sure a Next key is published ahead of rotation."""
    retired = keys.retire_expired()
    keys.ensure_keys()
    return {"retired_keys": retired}


def _remove(statement) -> int:
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0


def cleanup() -> dict[str, Any]:
    """Expired launch state and nonces, used or expired registration tokens, launch log rows past the retention
    setting, and finished jobs older than 30 days."""
    now = utcnow()
    retention = timedelta(days=int(lti_setting("launch_log_retention_days")))
    return {
        "storage_entries": _remove(delete(LtiStorageEntry).where(LtiStorageEntry.expires_at < now)),
        "nonces": _remove(delete(Lti11Nonce).where(Lti11Nonce.expires_at < now)),
        "registration_tokens": _remove(delete(RegistrationToken).where(
            or_(RegistrationToken.used_at.is_not(None), RegistrationToken.expires_at < now))),
        "launch_log": _remove(delete(LaunchLog).where(LaunchLog.at < now - retention)),
        "done_jobs": _remove(delete(SyncJob).where(
            SyncJob.status == JOB_DONE, SyncJob.finished_at < now - DONE_JOB_RETENTION)),
    }
