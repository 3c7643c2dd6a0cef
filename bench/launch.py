"""Benchmark (not a timed test): complete LTI 1.3 launches against Courseport and, in the same run, against a
bare pylti1p3 Flask tool (bench/bare_tool.py), both under gunicorn, driven by the same client and platform.

    .venv/bin/python bench/launch.py [--seconds 20] [--rounds 4] [--clients 8] [--workers 4] [--returning]
                                     [--per-request] [--only floor|bare|courseport] [--profile DIR]
                                     [--database postgresql]

A launch is what a browser does: GET the tool's login URL, follow it to the platform's authentication endpoint
(the e2e tests' lti1p3platform platform, which signs the id_token), POST the auto-submitted form to the tool,
follow its redirect to the landing page. Each launch is by a new platform user (Courseport creates the account,
enrols it and records the launch); `--returning` reuses a pool of users that have launched before.

Two floors run with them (bench/floor_tool.py), tools that do no work: one plain WSGI (what gunicorn, the
client and the platform cost on this machine) and one through Flask with a session cookie (the least a Flask tool
can spend). The summary gives the floors' figures and each real tool's CPU above the Flask floor.

The tools take turns: each runs its `--seconds` in `--rounds` slices, one tool after another, so a drift in the
machine's speed during the run (a shared virtual machine's neighbours) weighs on all of them alike.

Printed per tool: launches/s, p50/p99 of a complete launch (client wall time, platform step included), and the
server's CPU milliseconds per launch — utime+stime of the gunicorn master and workers from /proc, measured over
the timed slices only. On a small machine the client and platform share the CPU with the server, so CPU per
launch is the main figure. `--per-request` also prints each tool's mean CPU milliseconds per request route in
the timed slices (bench/gunicorn_probe.py); `--profile DIR` runs Courseport's workers under cProfile (one .prof
per worker). `--database postgresql` serves Courseport from a throwaway PostgreSQL server (tests/postgres.py)
instead of a SQLite file.
"""
from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _sync_setup import database_url  # noqa: E402
from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests import factories  # noqa: E402
from tests.e2e.lti_launcher import LaunchPlatform, LinkSpec  # noqa: E402
from tests.e2e.platform_server import PlatformServer  # noqa: E402
from tests.helpers import free_port  # noqa: E402

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
TICKS = os.sysconf("SC_CLK_TCK")
_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
_ACTION = re.compile(r'<form method="POST" action="([^"]+)"')


@dataclass
class Tool:
    name: str
    base_url: str
    login_path: str
    launch_path: str
    landing_text: str
    process: subprocess.Popen | None = None
    resource_uuid: str | None = None
    probe_dir: Path | None = None


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    windows: list[tuple[float, float]] = field(default_factory=list)

    @property
    def launches(self) -> int:
        return len(self.latencies)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _server_cpu(master: int) -> float:
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
    return total / TICKS


def _gunicorn(args: list[str], env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen:
    process = subprocess.Popen([GUNICORN, "-b", f"127.0.0.1:{port}", *args], cwd=cwd, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"gunicorn on port {port} did not start")


PROBE = str(ROOT / "bench" / "gunicorn_probe.py")
COURSEPORT, BARE, FLOOR, FLASK_FLOOR = "Courseport", "bare pylti1p3", "floor WSGI", "floor Flask"
FLOORS = {FLOOR: "floor_tool:app", FLASK_FLOOR: "floor_tool:flask_app"}


def _probe(folder: Path, name: str, profile: str | None) -> tuple[list[str], dict[str, str], Path]:
    """gunicorn arguments and environment for bench/gunicorn_probe.py, and the folder it reports into."""
    probe_dir = folder / f"requests-{name}"
    probe_dir.mkdir()
    env = {"COURSEPORT_BENCH_REQUESTS": str(probe_dir)}
    if profile:
        Path(profile).mkdir(parents=True, exist_ok=True)
        env["COURSEPORT_BENCH_PROFILE"] = str(Path(profile).resolve())
    return ["-c", PROBE], env, probe_dir


def start_courseport(folder: Path, platform: LaunchPlatform, workers: int, probe: bool,
                     profile: str | None, database_url: str) -> Tool:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"COURSEPORT_INSTANCE_PATH": str(folder / "instance"), "DATABASE_URL": database_url,
           "COURSEPORT_BASE_URL": base}
    os.environ.update(env)
    app = create_app()
    with app.app_context():
        db.create_all()
        factories.make_registration("Bench LMS", issuer=platform.issuer, client_id=platform.client_id,
                                    auth_request_url=platform.auth_url, jwks_url=platform.jwks_url)
        course = factories.make_course("BENCH", "Benchmark course")
        activity = factories.make_activity(course, "page", "Welcome page", content_html="<p>Hello.</p>")
        uuid = factories.make_resource(course, activity).uuid
        db.session.remove()
        db.engine.dispose()
    probe_args, probe_env, probe_dir = _probe(folder, "courseport", profile) if probe else ([], {}, None)
    tool = Tool(COURSEPORT, base, "/lti/login", "/lti/launch", "Hello.", resource_uuid=uuid, probe_dir=probe_dir)
    tool.process = _gunicorn(["-w", str(workers), *probe_args, "wsgi:app"], {**env, **probe_env}, port, ROOT)
    return tool


def _start_plain(name: str, app: str, env: dict[str, str], folder: Path, workers: int, probe: bool,
                 landing_text: str) -> Tool:
    """A tool from bench/ (no database) under gunicorn, with the same login and launch paths."""
    port = free_port()
    probe_args, probe_env, probe_dir = _probe(folder, name.replace(" ", "-"), None) if probe else ([], {}, None)
    tool = Tool(name, f"http://127.0.0.1:{port}", "/login", "/launch", landing_text, probe_dir=probe_dir)
    tool.process = _gunicorn(["-w", str(workers), *probe_args, app], {**env, **probe_env}, port, ROOT / "bench")
    return tool


def start_bare(folder: Path, platform: LaunchPlatform, workers: int, probe: bool) -> Tool:
    env = {"BARE_ISSUER": platform.issuer, "BARE_CLIENT_ID": platform.client_id, "BARE_AUTH_URL": platform.auth_url,
           "BARE_JWKS_URL": platform.jwks_url, "BARE_DEPLOYMENT_ID": platform.server.deployment_id or "",
           "BARE_SECRET_KEY": secrets.token_hex(16)}
    return _start_plain(BARE, "bare_tool:app", env, folder, workers, probe, "Welcome, ")


def start_floor(name: str, folder: Path, platform: LaunchPlatform, workers: int, probe: bool) -> Tool:
    return _start_plain(name, FLOORS[name], {"FLOOR_AUTH_URL": platform.auth_url,
                                             "FLOOR_SECRET_KEY": secrets.token_hex(16)},
                        folder, workers, probe, "Welcome, ")


def stop(tool: Tool) -> None:
    if tool.process and tool.process.poll() is None:
        tool.process.terminate()
        tool.process.wait(timeout=30)


def report_requests(tool: Tool, run: Run) -> None:
    """Mean CPU ms per request route in the timed slices, from the probe's files (written as workers exit)."""
    assert tool.probe_dir is not None
    totals: dict[str, list[float]] = {}
    for path in tool.probe_dir.glob("requests-*.json"):
        for ended, route, cpu in json.loads(path.read_text()):
            if any(start <= ended <= end for start, end in run.windows):
                totals.setdefault(route, []).append(cpu)
    for route, values in sorted(totals.items(), key=lambda item: -sum(item[1])):
        print(f"  {route:<40} {len(values):>7} requests {sum(values) * 1000 / len(values):>8.2f} CPU ms each")


def launch_once(session: requests.Session, tool: Tool, platform: LaunchPlatform, sub: str) -> None:
    """One complete launch, as a browser: login → platform auth → launch POST → landing page."""
    hint = platform.add_link(LinkSpec(sub=sub, resource_uuid=tool.resource_uuid, name=f"User {sub}"))
    query = urlencode({"iss": platform.issuer, "login_hint": sub, "target_link_uri": tool.base_url + tool.launch_path,
                       "lti_message_hint": hint, "client_id": platform.client_id})
    login = session.get(f"{tool.base_url}{tool.login_path}?{query}", allow_redirects=False, timeout=30)
    if login.status_code != 302:
        raise RuntimeError(f"login answered {login.status_code}")
    auth = session.get(login.headers["Location"], timeout=30)
    form = {name: html.unescape(value) for name, value in _INPUT.findall(auth.text)}
    action = html.unescape(_ACTION.search(auth.text).group(1))
    launched = session.post(action, data=form, allow_redirects=False, timeout=30)
    if launched.status_code != 302:
        raise RuntimeError(f"launch answered {launched.status_code}: {launched.text[:200]}")
    landing = session.get(tool.base_url + launched.headers["Location"] if launched.headers["Location"]
                          .startswith("/") else launched.headers["Location"], allow_redirects=False, timeout=30)
    if landing.status_code != 200 or tool.landing_text not in landing.text:
        raise RuntimeError(f"landing answered {landing.status_code}")


def warm_up(tool: Tool, platform: LaunchPlatform, subs, count: int) -> None:
    platform.tool_url = tool.base_url
    for index in range(count):
        launch_once(requests.Session(), tool, platform, subs(-1, index))


def drive(tool: Tool, platform: LaunchPlatform, run: Run, *, clients: int, seconds: float, subs) -> None:
    """One timed slice: `clients` threads launching against `tool` for `seconds`, added to `run`."""
    platform.tool_url = tool.base_url
    lock = threading.Lock()
    stop = time.time() + seconds
    assert tool.process is not None

    def client(number: int) -> None:
        count = 0
        while time.time() < stop:
            session = requests.Session()  # a fresh browser per launch, as LMS users arrive
            started = time.perf_counter()
            try:
                launch_once(session, tool, platform, subs(number, count))
            except (RuntimeError, requests.RequestException) as error:
                with lock:
                    run.failures.append(str(error))
            else:
                with lock:
                    run.latencies.append(time.perf_counter() - started)
            count += 1

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    cpu_before, wall_before, started = _server_cpu(tool.process.pid), time.perf_counter(), time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds += time.perf_counter() - wall_before
    run.windows.append((started, time.time()))
    run.cpu_seconds += _server_cpu(tool.process.pid) - cpu_before


def report(name: str, run: Run) -> dict[str, float]:
    figures = {"rate": run.launches / run.seconds, "p50": _percentile(run.latencies, 0.5) * 1000,
               "p99": _percentile(run.latencies, 0.99) * 1000, "cpu": run.cpu_seconds * 1000 / run.launches}
    print(f"{name:<16} {run.launches:>8} {figures['rate']:>11.1f} {figures['p50']:>9.1f} {figures['p99']:>9.1f} "
          f"{figures['cpu']:>13.2f} {len(run.failures):>9}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=4, help="slices per tool, the tools taking turns")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--returning", action="store_true", help="launch a pool of known users instead of new ones")
    parser.add_argument("--only", choices=["courseport", "bare", "floor"],
                        help="run only this tool (floor: both floors)")
    parser.add_argument("--per-request", action="store_true", help="print CPU ms per request route too")
    parser.add_argument("--profile", metavar="DIR", help="cProfile Courseport's workers into DIR")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="postgresql: a throwaway server of Debian's PostgreSQL 15, started for the run")
    options = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the platform's request log

    with tempfile.TemporaryDirectory(prefix="courseport-launch-bench-") as folder, PlatformServer() as server, \
            database_url(folder, options.database) as database:
        platform = LaunchPlatform(server, "")
        tools: list[Tool] = []
        try:
            if options.only in (None, "floor"):
                tools += [start_floor(name, Path(folder), platform, options.workers, options.per_request)
                          for name in FLOORS]
            if options.only in (None, "bare"):
                tools.append(start_bare(Path(folder), platform, options.workers, options.per_request))
            if options.only in (None, "courseport"):
                tools.append(start_courseport(Path(folder), platform, options.workers,
                                              options.per_request or bool(options.profile), options.profile,
                                              database))
            if options.returning:
                pool = options.clients * 25

                def subs(client: int, count: int) -> str:
                    return f"returning-{(client * 7919 + count) % pool}"
                warmup = pool
            else:
                def subs(client: int, count: int) -> str:
                    return f"user-{client}-{count}-{secrets.token_hex(4)}"
                warmup = options.warmup
            print(f"{options.clients} clients, {options.workers} gunicorn workers each, {options.seconds:.0f} s per "
                  f"tool in {options.rounds} turns, {'returning' if options.returning else 'new'} users, "
                  f"{os.cpu_count()} CPUs\n")
            runs = {tool.name: Run() for tool in tools}
            for tool in tools:
                warm_up(tool, platform, subs, warmup)
            for _ in range(options.rounds):
                for tool in tools:
                    drive(tool, platform, runs[tool.name], clients=options.clients,
                          seconds=options.seconds / options.rounds, subs=subs)
            for tool in tools:
                stop(tool)  # the probe writes its files as the workers exit
            print(f"{'tool':<16} {'launches':>8} {'launches/s':>11} {'p50 ms':>9} {'p99 ms':>9} "
                  f"{'CPU ms/launch':>13} {'failures':>9}")
            results = {}
            for tool in tools:
                run = runs[tool.name]
                results[tool.name] = report(tool.name, run)
                if run.failures:
                    print(f"  first failure: {run.failures[0]}")
                if options.per_request:
                    report_requests(tool, run)
            if COURSEPORT in results and BARE in results:
                ours, bare = results[COURSEPORT], results[BARE]
                print(f"\nCourseport / bare: CPU per launch {ours['cpu'] / bare['cpu']:.2f} "
                      f"(target ≤ {1 / 1.2:.2f}), launches/s {ours['rate'] / bare['rate']:.2f} (target ≥ 1.00), "
                      f"Courseport p99 {ours['p99']:.0f} ms (target < 80)")
                if FLOOR in results and FLASK_FLOOR in results:
                    floor, flask_floor = results[FLOOR], results[FLASK_FLOOR]
                    print(f"Floors (tools that do no work): p99 {floor['p99']:.0f} ms under plain WSGI; "
                          f"CPU per launch {floor['cpu']:.2f} ms plain, {flask_floor['cpu']:.2f} ms through Flask with "
                          f"a session cookie")
                    print(f"Above the Flask floor: Courseport {ours['cpu'] - flask_floor['cpu']:.2f} CPU ms, bare "
                          f"{bare['cpu'] - flask_floor['cpu']:.2f} CPU ms; the target leaves Courseport "
                          f"{bare['cpu'] / 1.2 - flask_floor['cpu']:.2f} ms")
        finally:
            for tool in tools:
                stop(tool)


if __name__ == "__main__":
    main()
