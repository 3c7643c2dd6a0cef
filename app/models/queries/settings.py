"""Site settings: every launch reads the LTI settings."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

STORED = DriverStatement("SELECT key, value FROM site_setting WHERE key LIKE :pattern", result_json=("value",))
