"""gunicorn config for bench/launch.py's probes of the tools' workers.

COURSEPORT_BENCH_REQUESTS=DIR: each worker notes every request's CPU time (time.process_time around the whole
request, gunicorn's parsing excluded) with its end time and route, and writes DIR/requests-{pid}.json at exit.
A request sent with the header `X-Bench-View: repeat` is noted under its route with " (repeat view)", one with
`X-Bench-Learner: new` or `returning` with " (new learner)" or " (returning learner)".
In a worker that opens its database through SQLAlchemy (Courseport), each request's database work is counted too,
at the driver: statements (BEGIN, COMMIT and ROLLBACK apart), the writes among them, and commits — SQLite's trace
callback on every connection the pools open, psycopg's cursor and connection methods wrapped.
COURSEPORT_BENCH_PROFILE=DIR: each worker runs under cProfile and writes DIR/worker-{pid}.prof when it exits
(read them with `python -m pstats`).
"""
import cProfile
import json
import os
import re
import sqlite3
import time

_ID = re.compile(r"/(\d+|[0-9a-f-]{32,36}|[\w-]{40,})(?=/|$)")
_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_counts = {"statements": 0, "writes": 0, "commits": 0}


def _note(sql):
    verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if verb == "COMMIT":
        _counts["commits"] += 1
    elif verb not in ("BEGIN", "ROLLBACK"):
        _counts["statements"] += 1
        _counts["writes"] += verb in _WRITE


def _count_sqlite(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.set_trace_callback(_note)


def _count_psycopg():
    try:
        import psycopg
    except ImportError:
        return

    def counted(method, note):
        def wrapper(self, query, *args, **kwargs):
            note(query if isinstance(query, str) else str(query))
            return method(self, query, *args, **kwargs)
        return wrapper

    def commit(self):
        _counts["commits"] += 1
        return original_commit(self)

    psycopg.Cursor.execute = counted(psycopg.Cursor.execute, _note)
    psycopg.Cursor.executemany = counted(psycopg.Cursor.executemany, _note)
    original_commit = psycopg.Connection.commit
    psycopg.Connection.commit = commit


def post_fork(server, worker):
    worker.requests = []
    try:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool
    except ImportError:
        pass
    else:
        event.listen(Pool, "connect", _count_sqlite)
        _count_psycopg()
    if os.environ.get("COURSEPORT_BENCH_PROFILE"):
        worker.profile = cProfile.Profile(time.process_time)
        worker.profile.enable()


def pre_request(worker, req):
    req.cpu_started = time.process_time()
    _counts.update(statements=0, writes=0, commits=0)


def post_request(worker, req, environ, resp):
    if os.environ.get("COURSEPORT_BENCH_REQUESTS"):
        route = f"{req.method} {_ID.sub('/<id>', req.path)}"
        if environ.get("HTTP_X_BENCH_VIEW") == "repeat":
            route += " (repeat view)"
        if environ.get("HTTP_X_BENCH_LEARNER") in ("new", "returning"):
            route += f" ({environ['HTTP_X_BENCH_LEARNER']} learner)"
        worker.requests.append((time.time(), route, time.process_time() - req.cpu_started, _counts["statements"],
                                _counts["writes"], _counts["commits"]))


def worker_exit(server, worker):
    if os.environ.get("COURSEPORT_BENCH_PROFILE"):
        worker.profile.disable()
        worker.profile.dump_stats(os.path.join(os.environ["COURSEPORT_BENCH_PROFILE"], f"worker-{worker.pid}.prof"))
    if os.environ.get("COURSEPORT_BENCH_REQUESTS"):
        with open(os.path.join(os.environ["COURSEPORT_BENCH_REQUESTS"], f"requests-{worker.pid}.json"), "w") as out:
            json.dump(worker.requests, out)
