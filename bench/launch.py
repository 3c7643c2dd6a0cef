"""Benchmark (not a timed test): complete LTI 1.3 launches against Courseport and, in the same run, against a bare
pylti1p3 Flask tool (bench/bare_tool.py) and a django-lti peer (bench/django_peer/), each under
`gunicorn -k sync`, driven by the same client and platform.

    .venv/bin/python bench/launch.py [--seconds 40] [--rounds 8] [--clients 8] [--workers 2] [--returning 0.5]
                                     [--only floor|bare|django|courseport] [--database sqlite postgresql]
                                     [--profile DIR]

A launch is what a browser does: GET the tool's login URL, follow it to the platform's authentication endpoint
(the e2e tests' lti1p3platform platform, which signs the id_token), POST the auto-submitted form to the tool,
follow its redirect to the landing page. Every launch is a fresh browser. `--returning` is the share of launches
by learners of a pool that launched before (by default half; the other half are new platform users: the tool
creates the account, enrols it and records the launch). django-lti's login answers first with pylti1p3's cookie
check page, whose script loads the login again with `lti1p3_new_window=1`: the client does that second GET too.

The tools: two floors (bench/floor_tool.py) that do no work, plain WSGI and Flask with a session cookie; the bare
pylti1p3 tool (state in its cookie session, keyset cached per process); django-lti 0.10 with
django-lti-authentication 0.2 (database sessions, the login cookie check, a database cache shared by the workers,
on SQLite; its packages come from bench/requirements.txt, installed into bench/.packages on first use); Courseport
on a SQLite file and on a throwaway PostgreSQL server (tests/postgres.py) — `--database` picks which.

The tools take turns: each runs its `--seconds` in `--rounds` slices, one tool after another, so a drift in the
machine's speed (other work on a shared machine) weighs on all of them alike; compare the ratios, not the times.

Printed per tool: launches/s, p50/p99 of a complete launch (client wall time, platform step included), and the
server's CPU milliseconds per launch — utime+stime of the gunicorn master and workers from /proc, measured over the
timed slices only — with its ratios to the bare tool and to django-lti. Per request route (bench/gunicorn_probe.py):
mean CPU ms and, for Courseport, statements, writes and commits per request, counted at the database driver (the
launch POST apart for new and returning learners); after
the timed slices Courseport also serves a few repeat views of a landing page (noted apart, not timed).
`--profile DIR` runs Courseport's workers under cProfile (one .prof per worker).
"""
from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _launch_tools import (  # noqa: E402
    BARE, COURSEPORT, DJANGO, FLASK_FLOOR, FLOOR, FLOORS, Tool, server_cpu, start_bare, start_courseport,
    start_django, start_floor, stop,
)
from _sync_setup import database_url  # noqa: E402
from tests.e2e.lti_launcher import LaunchPlatform, LinkSpec  # noqa: E402
from tests.e2e.platform_server import PlatformServer  # noqa: E402

_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
_ACTION = re.compile(r'<form method="POST" action="([^"]+)"')
REPEAT_VIEWS = 20
TARGET_BARE, TARGET_DJANGO = 1.5, 1 / 1.2
# Statements per request: a returning learner's launch POST, and a repeat view of the landing page (no write).
TARGET_POST_STATEMENTS, TARGET_REPEAT_STATEMENTS = 6, 3
# The earlier baseline, measured with this benchmark's launch (8 clients, half of them returning learners): server
# CPU per launch of Courseport before the launch's hot path was reworked, of the bare tool and of django-lti.
BASELINE = {COURSEPORT: 12.7, BARE: 5.1, DJANGO: 39.9}


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


def launch_once(session: requests.Session, tool: Tool, platform: LaunchPlatform, sub: str,
                repeat_view: bool = False) -> None:
    """One complete launch, as a browser: login → platform auth → launch POST → landing page."""
    hint = platform.add_link(LinkSpec(sub=sub, resource_uuid=tool.resource_uuid, name=f"User {sub}"))
    query = urlencode({"iss": platform.issuer, "login_hint": sub, "target_link_uri": tool.base_url + tool.launch_path,
                       "lti_message_hint": hint, "client_id": platform.client_id})
    login = session.get(f"{tool.base_url}{tool.login_path}?{query}", allow_redirects=False, timeout=30)
    if login.status_code == 200 and "lti1p3_new_window" in login.text:  # pylti1p3's cookie check page
        login = session.get(f"{tool.base_url}{tool.login_path}?{query}&lti1p3_new_window=1", allow_redirects=False,
                            timeout=30)
    if login.status_code != 302:
        raise RuntimeError(f"login answered {login.status_code}")
    auth = session.get(login.headers["Location"], timeout=30)
    form = {name: html.unescape(value) for name, value in _INPUT.findall(auth.text)}
    action = html.unescape(_ACTION.search(auth.text).group(1))
    learner = {"X-Bench-Learner": "returning" if sub.startswith("returning-") else "new"}
    launched = session.post(action, data=form, allow_redirects=False, timeout=30, headers=learner)
    if launched.status_code != 302:
        raise RuntimeError(f"launch answered {launched.status_code}: {launched.text[:200]}")
    location = launched.headers["Location"]
    landing_url = tool.base_url + location if location.startswith("/") else location
    for headers in ({}, {"X-Bench-View": "repeat"}) if repeat_view else ({},):
        landing = session.get(landing_url, allow_redirects=False, timeout=30, headers=headers)
        if landing.status_code != 200 or tool.landing_text not in landing.text:
            raise RuntimeError(f"landing answered {landing.status_code}")


def drive(tool: Tool, platform: LaunchPlatform, run: Run, *, clients: int, seconds: float, subs) -> None:
    """One timed slice: `clients` threads launching against `tool` for `seconds`, added to `run`."""
    platform.tool_url = tool.base_url
    lock = threading.Lock()
    stop_at = time.time() + seconds
    assert tool.process is not None

    def client(number: int) -> None:
        count = 0
        while time.time() < stop_at:
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
    cpu_before, wall_before, started = server_cpu(tool.process.pid), time.perf_counter(), time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds += time.perf_counter() - wall_before
    run.windows.append((started, time.time()))
    run.cpu_seconds += server_cpu(tool.process.pid) - cpu_before


def request_figures(tool: Tool, run: Run) -> dict[str, list[tuple]]:
    """The probe's notes per route: requests in the timed slices, and the repeat views."""
    routes: dict[str, list[tuple]] = {}
    for path in tool.probe_dir.glob("requests-*.json"):
        for ended, route, *figures in json.loads(path.read_text()):
            if route.endswith("(repeat view)") or any(start <= ended <= end for start, end in run.windows):
                routes.setdefault(route, []).append(figures)
    return routes


def report_requests(tool: Tool, run: Run) -> None:
    routes = request_figures(tool, run)
    for route, notes in sorted(routes.items(), key=lambda item: -sum(note[0] for note in item[1])):
        count = len(notes)
        line = f"  {route:<44} {count:>7} requests {sum(note[0] for note in notes) * 1000 / count:>7.2f} CPU ms"
        if tool.counts_statements:
            statements, writes, commits = (sum(note[index] for note in notes) / count for index in (1, 2, 3))
            line += f" {statements:>6.1f} statements {writes:>5.1f} writes {commits:>5.2f} commits"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--rounds", type=int, default=8, help="slices per tool, the tools taking turns")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--returning", type=float, default=0.5, metavar="SHARE",
                        help="share of launches by learners who launched before (0 to 1)")
    parser.add_argument("--only", choices=["courseport", "bare", "django", "floor"],
                        help="run only this tool (floor: both floors)")
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"],
                        help="Courseport's databases (postgresql: a throwaway server of Debian's PostgreSQL)")
    parser.add_argument("--profile", metavar="DIR", help="cProfile Courseport's workers into DIR")
    options = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the platform's request log

    with tempfile.TemporaryDirectory(prefix="courseport-launch-bench-") as folder, PlatformServer() as server, \
            ExitStack() as databases:
        platform = LaunchPlatform(server, "")
        tools: list[Tool] = []
        try:
            if options.only in (None, "floor"):
                tools += [start_floor(name, Path(folder), platform, options.workers) for name in FLOORS]
            if options.only in (None, "bare"):
                tools.append(start_bare(Path(folder), platform, options.workers))
            if options.only in (None, "django"):
                tools.append(start_django(Path(folder), platform, options.workers))
            if options.only in (None, "courseport"):
                for database in options.database:
                    url = databases.enter_context(database_url(folder, database))
                    label = "SQLite" if database == "sqlite" else "PostgreSQL"
                    tools.append(start_courseport(Path(folder), platform, options.workers, url, label,
                                                  options.profile))
            pool = options.clients * 10
            share = min(max(options.returning, 0.0), 1.0)

            def subs(client: int, count: int) -> str:
                if int((count + 1) * share) > int(count * share):
                    return f"returning-{(client * 7919 + count) % pool}"
                return f"user-{client}-{count}-{secrets.token_hex(4)}"

            print(f"{options.clients} clients, `gunicorn -k sync -w {options.workers}` per tool, "
                  f"{options.seconds:.0f} s per tool in {options.rounds} turns, {share:.0%} of launches by returning "
                  f"learners, {os.cpu_count()} CPUs, load average before the run "
                  f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}\n")
            runs = {tool.name: Run() for tool in tools}
            for tool in tools:
                platform.tool_url = tool.base_url
                for index in range(pool if share else options.clients * 5):
                    launch_once(requests.Session(), tool, platform, f"returning-{index}" if share else f"warm-{index}")
            for _ in range(options.rounds):
                for tool in tools:
                    drive(tool, platform, runs[tool.name], clients=options.clients,
                          seconds=options.seconds / options.rounds, subs=subs)
            for tool in (tool for tool in tools if tool.counts_statements):
                platform.tool_url = tool.base_url
                for index in range(REPEAT_VIEWS):
                    launch_once(requests.Session(), tool, platform, f"returning-{index % pool}", repeat_view=True)
            for tool in tools:
                stop(tool)  # the probe writes its files as the workers exit
            report(tools, runs)
            print(f"load average after the run: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
        finally:
            for tool in tools:
                stop(tool)


def report(tools: list[Tool], runs: dict[str, Run]) -> None:
    cpu = {tool.name: runs[tool.name].cpu_seconds * 1000 / max(runs[tool.name].launches, 1) for tool in tools}
    print(f"{'tool':<22} {'launches':>8} {'launches/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/launch':>13} "
          f"{'÷ bare':>7} {'÷ django':>8} {'failures':>8}")
    for tool in tools:
        run = runs[tool.name]
        if not run.launches:
            print(f"{tool.name:<22} no launch succeeded; first failure: {run.failures[:1]}")
            continue
        ratios = [f"{cpu[tool.name] / cpu[peer]:.2f}" if peer in cpu else "-" for peer in (BARE, DJANGO)]
        print(f"{tool.name:<22} {run.launches:>8} {run.launches / run.seconds:>10.1f} "
              f"{_percentile(run.latencies, 0.5) * 1000:>7.1f} {_percentile(run.latencies, 0.99) * 1000:>7.1f} "
              f"{cpu[tool.name]:>13.2f} {ratios[0]:>7} {ratios[1]:>8} {len(run.failures):>8}")
    print("\nPer request route (timed slices; repeat views after them), mean per request:")
    for tool in tools:
        print(tool.name)
        if runs[tool.name].failures:
            print(f"  first failure: {runs[tool.name].failures[0]}")
        report_requests(tool, runs[tool.name])
    for tool in tools:
        if tool.name.startswith(COURSEPORT) and BARE in cpu and DJANGO in cpu:
            print(f"\n{tool.name}: CPU per launch {cpu[tool.name] / cpu[BARE]:.2f}× the bare tool's "
                  f"(target ≤ {TARGET_BARE:.2f}), {cpu[tool.name] / cpu[DJANGO]:.2f}× django-lti's "
                  f"(target ≤ {TARGET_DJANGO:.2f})")
    print(f"\nEarlier baseline (CPU ms per launch): Courseport {BASELINE[COURSEPORT]} ms, bare pylti1p3 "
          f"{BASELINE[BARE]} ms ({BASELINE[COURSEPORT] / BASELINE[BARE]:.1f}×), django-lti {BASELINE[DJANGO]} ms "
          f"({BASELINE[COURSEPORT] / BASELINE[DJANGO]:.2f}×)")
    print(f"Targets: CPU per launch ≤ {TARGET_BARE:.2f}× the bare tool's and ≤ {TARGET_DJANGO:.2f}× "
          f"django-lti's, no failure; a returning learner's launch POST ≤ {TARGET_POST_STATEMENTS} statements and "
          f"one commit; a repeat view of the landing page ≤ {TARGET_REPEAT_STATEMENTS} statements and no write")
    if FLOOR in cpu and FLASK_FLOOR in cpu:
        print(f"Floors (tools that do no work): CPU per launch {cpu[FLOOR]:.2f} ms plain WSGI, "
              f"{cpu[FLASK_FLOOR]:.2f} ms through Flask with a session cookie")


if __name__ == "__main__":
    main()
