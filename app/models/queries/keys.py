"""The platforms' cached keysets: every launch checks the cache's times, and reads the keys only when this process
has not parsed them yet."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

KEYSET_TIMES = DriverStatement("SELECT fetched_at, expires_at FROM platform_keyset WHERE registration_id = :id",
                               result_times=("fetched_at", "expires_at"))
KEYSET = DriverStatement("SELECT jwks FROM platform_keyset WHERE registration_id = :id", result_json=("jwks",))
