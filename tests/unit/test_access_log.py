"""The access log gunicorn writes under this repository's gunicorn.conf.py keeps no secret token."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app.access_log import REDACTED, redact
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("uri, expected", [
    ("/lti/v1/cartridge/12/abcDEF123.xml", f"/lti/v1/cartridge/12/{REDACTED}.xml"),
    ("/lti/v2/register/12/abcDEF123", f"/lti/v2/register/12/{REDACTED}"),
    ("/lti/continue/s3cr3t-handoff", f"/lti/continue/{REDACTED}"),
    ("/lti/register?token=t0k&openid_configuration=https%3A%2F%2Flms%2Fc&registration_token=r3g",
     f"/lti/register?token={REDACTED}&openid_configuration=https%3A%2F%2Flms%2Fc&registration_token={REDACTED}"),
    ("https://tool.example/lti/login?iss=x&lti_message_hint=h1nt",
     f"https://tool.example/lti/login?iss=x&lti_message_hint={REDACTED}"),
    ("/activity/7?lti_frame=fr4me&page=2", f"/activity/7?lti_frame={REDACTED}&page=2"),
    ("/lti/launch?lti_storage_secret=s3cr3t", f"/lti/launch?lti_storage_secret={REDACTED}"),
    ("/course/3?page=2", "/course/3?page=2"),
])
def test_redact(uri, expected):
    assert redact(uri) == expected


def test_gunicorn_started_here_logs_no_token(tmp_path):
    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "COURSEPORT_INSTANCE_PATH": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                "--access-logfile", str(log), "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except requests.RequestException:
                assert time.time() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        requests.get(f"http://127.0.0.1:{port}/lti/v1/cartridge/7/cartridgeSECRET.xml", timeout=5,
                     headers={"Referer": f"http://127.0.0.1:{port}/lti/continue/handoffSECRET"})
        requests.post(f"http://127.0.0.1:{port}/lti/v2/register/7/registerSECRET", timeout=5)
        requests.get(f"http://127.0.0.1:{port}/lti/register?token=dynregSECRET&registration_token=platformSECRET",
                     timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = log.read_text()
    assert "/lti/v1/cartridge/7/" in text and "/lti/v2/register/7/" in text and "/lti/register?" in text
    assert "SECRET" not in text and REDACTED in text
