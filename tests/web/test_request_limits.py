"""Every request body, stored value and echoed value is bounded: a huge login parameter costs a 413 or a short
refusal, never a huge page, log row or memory spike."""
from __future__ import annotations

from app.extensions import db
from app.limits import TRUNCATED, clip
from app.lti.errors import launch_error
from app.models import LaunchLog
from app.services.launch import log as launch_log
from app.services.launch.log import Attempt
from tests.helpers import login

TARGET = "http://127.0.0.1:5000/lti/launch"


def _logged() -> list[LaunchLog]:
    db.session.expire_all()
    return list(db.session.execute(db.select(LaunchLog)).scalars())


def test_a_body_over_the_limit_gets_a_clear_413_and_writes_nothing(app, client):
    response = client.post("/lti/login", data={"iss": "x" * (3 * 1024 * 1024), "login_hint": "a",
                                               "target_link_uri": TARGET})
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "Request too large" in text and "MB" in text
    assert len(response.data) < 10_000
    assert _logged() == []


def test_a_multipart_body_with_too_many_parts_gets_413(app, client):
    fields = {f"f{index}": "v" for index in range(2000)}
    response = client.post("/lti/login", data=fields, content_type="multipart/form-data")
    assert response.status_code == 413


def test_a_long_login_parameter_is_refused_without_echoing_it(app, client):
    huge = "https://" + "x" * 200_000
    for response in (client.post("/lti/login", data={"iss": huge, "login_hint": "a", "target_link_uri": TARGET}),
                     client.get("/lti/login", query_string={"iss": "i", "login_hint": "h" * 200_000,
                                                            "target_link_uri": TARGET})):
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert len(text) < 10_000
        assert "x" * 5000 not in text and "h" * 5000 not in text
    rows = _logged()
    assert len(rows) == 2
    for row in rows:
        assert row.check_code == "login_parameters"
        assert len(row.cause) < 1000 and len(row.issuer or "") <= 1024


def test_an_unregistered_long_issuer_is_echoed_cut_short(app, client):
    issuer = "https://" + "y" * 3000
    response = client.post("/lti/login", data={"iss": issuer, "login_hint": "a", "target_link_uri": TARGET})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "y" * 3000 not in text and TRUNCATED in text
    row, = _logged()
    assert "y" * 3000 not in row.cause and TRUNCATED in row.cause


def test_stored_log_fields_are_cut_with_a_marker(app, admin, client):
    error = launch_error("registration_not_found", iss="i", client_id="c", detail="d", subject="s" * 5000)
    error.cause, error.fix = "c" * 100_000, "f" * 100_000
    row = launch_log.record_failure(launch_log.KIND_LOGIN, error, Attempt(user_agent="u" * 5000, ip="1" * 500))
    db.session.commit()
    stored = db.session.get(LaunchLog, row.id)
    for value, limit in ((stored.cause, launch_log.TEXT_LIMIT), (stored.fix, launch_log.TEXT_LIMIT),
                         (stored.user_agent, 512), (stored.subject, 255)):
        assert len(value) <= limit and value.endswith(TRUNCATED)
    login(client, "admin")
    page = client.get(f"/admin/lti/launches/{row.id}")
    assert page.status_code == 200 and len(page.data) < 50_000


def test_clip_keeps_short_text_and_marks_cut_text():
    assert clip("short", 10) == "short"
    assert clip(None, 10) is None
    cut = clip("z" * 100, 40)
    assert len(cut) == 40 and cut.endswith(TRUNCATED) and cut.startswith("z")
