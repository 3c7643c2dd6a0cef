"""The tools bench/launch.py drives, each started under gunicorn (sync workers) with bench/gunicorn_probe.py: the
floors, the bare pylti1p3 tool, the django-lti peer and Courseport on each database of the run."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests import factories  # noqa: E402
from tests.e2e.lti_launcher import LaunchPlatform  # noqa: E402
from tests.helpers import free_port  # noqa: E402

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PROBE = str(BENCH / "gunicorn_probe.py")
PEER_PACKAGES = BENCH / ".packages"
PEER_REQUIREMENTS = BENCH / "requirements.txt"
COURSEPORT, BARE, DJANGO, FLOOR, FLASK_FLOOR = "Courseport", "bare pylti1p3", "django-lti", "floor WSGI", "floor Flask"
FLOORS = {FLOOR: "floor_tool:app", FLASK_FLOOR: "floor_tool:flask_app"}


@dataclass
class Tool:
    name: str
    base_url: str
    login_path: str
    launch_path: str
    landing_text: str
    probe_dir: Path
    process: subprocess.Popen | None = None
    resource_uuid: str | None = None
    counts_statements: bool = False


def server_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master and its workers."""
    pids = [master]
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)
    return total / os.sysconf("SC_CLK_TCK")


def _gunicorn(tool: Tool, app: str, workers: int, env: dict[str, str], cwd: Path) -> Tool:
    port = int(tool.base_url.rsplit(":", 1)[1])
    tool.process = subprocess.Popen(
        [GUNICORN, "-k", "sync", "-w", str(workers), "-b", f"127.0.0.1:{port}", "-c", PROBE, app], cwd=cwd,
        env={**os.environ, **env, "COURSEPORT_BENCH_REQUESTS": str(tool.probe_dir)},
        stdout=subprocess.DEVNULL, stderr=(tool.probe_dir / "server.log").open("w"))
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            requests.get(f"{tool.base_url}/", timeout=5)
            return tool
        except requests.RequestException:
            time.sleep(0.1)
    tool.process.kill()
    raise SystemExit(f"{tool.name}: gunicorn on port {port} did not start")


def _tool(folder: Path, name: str, login_path: str, launch_path: str, landing_text: str) -> Tool:
    probe_dir = folder / f"requests-{name.replace(' ', '-')}"
    probe_dir.mkdir()
    return Tool(name, f"http://127.0.0.1:{free_port()}", login_path, launch_path, landing_text, probe_dir)


def start_courseport(folder: Path, platform: LaunchPlatform, workers: int, database_url: str, label: str,
                     profile: str | None) -> Tool:
    tool = _tool(folder, f"{COURSEPORT} {label}", "/lti/login", "/lti/launch", "Hello.")
    env = {"COURSEPORT_INSTANCE_PATH": str(folder / f"instance-{label}"), "DATABASE_URL": database_url,
           "COURSEPORT_BASE_URL": tool.base_url}
    os.environ.update(env)
    app = create_app()
    with app.app_context():
        db.create_all()
        factories.make_registration("Bench LMS", issuer=platform.issuer, client_id=platform.client_id,
                                    auth_request_url=platform.auth_url, jwks_url=platform.jwks_url)
        course = factories.make_course("BENCH", "Benchmark course")
        activity = factories.make_activity(course, "page", "Welcome page", content_html="<p>Hello.</p>")
        tool.resource_uuid = factories.make_resource(course, activity).uuid
        db.session.remove()
        db.engine.dispose()
    if profile:
        Path(profile).mkdir(parents=True, exist_ok=True)
        env["COURSEPORT_BENCH_PROFILE"] = str(Path(profile).resolve())
    tool.counts_statements = True
    return _gunicorn(tool, "wsgi:app", workers, env, ROOT)


def start_bare(folder: Path, platform: LaunchPlatform, workers: int) -> Tool:
    env = {"BARE_ISSUER": platform.issuer, "BARE_CLIENT_ID": platform.client_id, "BARE_AUTH_URL": platform.auth_url,
           "BARE_JWKS_URL": platform.jwks_url, "BARE_DEPLOYMENT_ID": platform.server.deployment_id or "",
           "BARE_SECRET_KEY": secrets.token_hex(16)}
    return _gunicorn(_tool(folder, BARE, "/login", "/launch", "Welcome, "), "bare_tool:app", workers, env, BENCH)


def start_floor(name: str, folder: Path, platform: LaunchPlatform, workers: int) -> Tool:
    env = {"FLOOR_AUTH_URL": platform.auth_url, "FLOOR_SECRET_KEY": secrets.token_hex(16)}
    return _gunicorn(_tool(folder, name, "/login", "/launch", "Welcome, "), FLOORS[name], workers, env, BENCH)


def peer_packages() -> Path:
    """bench/requirements.txt installed into bench/.packages (once), apart from the application's packages."""
    marker = PEER_PACKAGES / ".requirements.txt"
    wanted = PEER_REQUIREMENTS.read_text()
    if not marker.exists() or marker.read_text() != wanted:
        print(f"installing {PEER_REQUIREMENTS.relative_to(ROOT)} into {PEER_PACKAGES.relative_to(ROOT)} …")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--target",
                        str(PEER_PACKAGES), "-r", str(PEER_REQUIREMENTS)], check=True)
        marker.write_text(wanted)
    return PEER_PACKAGES


def start_django(folder: Path, platform: LaunchPlatform, workers: int) -> Tool:
    """bench/django_peer on its own SQLite file, its registration and active deployment made by its setup."""
    env = {"PYTHONPATH": f"{peer_packages()}{os.pathsep}{BENCH}", "DJANGO_SETTINGS_MODULE": "django_peer.settings",
           "DJANGO_PEER_DATABASE": str(folder / "django-peer.sqlite3"), "DJANGO_PEER_SECRET_KEY": secrets.token_hex(32)}
    made = subprocess.run(
        [sys.executable, "-m", "django_peer.setup", platform.issuer, platform.client_id, platform.auth_url,
         platform.jwks_url, platform.server.deployment_id or ""], cwd=BENCH, env={**os.environ, **env},
        capture_output=True, text=True, check=True)
    tool = _tool(folder, DJANGO, f"/init/{made.stdout.split()[-1]}/", "/launch/", "Welcome, ")
    return _gunicorn(tool, "django_peer.wsgi:application", workers, env, BENCH)


def stop(tool: Tool) -> None:
    if tool.process and tool.process.poll() is None:
        tool.process.terminate()
        tool.process.wait(timeout=30)
