"""Site settings: every launch reads the LTI settings."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

STORED = DriverStatement("SELECT key, value FROM site_setting WHERE key LIKE :pattern", result_json=("value",))
# Read once per request by whatever serves configuration from memory (app/models/config_cache.py).
CONFIG_VERSION = DriverStatement("SELECT version FROM config_version WHERE id = 1")
