"""Server-side launch storage (used login nonces, validated launches, new-window handoffs): read, write, and an
INSERT and a conditional DELETE that only one request can win."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

GET = DriverStatement("SELECT value FROM lti_storage_entry WHERE key = :key AND expires_at > :now",
                      times=("now",), result_json=("value",))
SET = DriverStatement("INSERT INTO lti_storage_entry (key, value, expires_at) VALUES (:key, :value, :expires_at) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                      times=("expires_at",), json=("value",))
CONSUME = DriverStatement("DELETE FROM lti_storage_entry WHERE key = :key AND expires_at > :now", times=("now",))
CLAIM = DriverStatement("INSERT INTO lti_storage_entry (key, value, expires_at) VALUES (:key, '{}', :expires_at) "
                        "ON CONFLICT (key) DO NOTHING", times=("expires_at",))
