"""The launch log's writes: one row per launch attempt, and the user it turned out to be."""
from __future__ import annotations

from app.models.driver_sql import DriverStatement

COLUMNS = ("kind", "outcome", "check_code", "cause", "fix", "registration_id", "issuer", "client_id",
           "deployment_id", "user_id", "subject", "published_resource_id", "resource_link_id", "message_type",
           "consumer_key", "cookie_method", "clock_skew", "user_agent", "ip")
INSERT = DriverStatement(f"INSERT INTO launch_log (at, {', '.join(COLUMNS)}) "
                         f"VALUES (:at, {', '.join(':' + name for name in COLUMNS)}) RETURNING id", times=("at",))
MARK_USER = DriverStatement("UPDATE launch_log SET user_id = :user WHERE id = :id")
