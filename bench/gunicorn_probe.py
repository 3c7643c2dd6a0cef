"""gunicorn config for bench/launch.py's probes of Courseport's workers.

COURSEPORT_BENCH_PROFILE=DIR: each worker runs under cProfile and writes DIR/worker-{pid}.prof when it exits
(read them with `python -m pstats`).
COURSEPORT_BENCH_REQUESTS=DIR: each worker notes every request's CPU time (time.process_time around the whole
request, gunicorn's parsing excluded) with its end time and route, and writes DIR/requests-{pid}.json at exit.
"""
import cProfile
import json
import os
import re
import time

_ID = re.compile(r"/(\d+|[0-9a-f-]{32,36}|[\w-]{40,})(?=/|$)")


def post_fork(server, worker):
    worker.requests = []
    if os.environ.get("COURSEPORT_BENCH_PROFILE"):
        worker.profile = cProfile.Profile(time.process_time)
        worker.profile.enable()


def pre_request(worker, req):
    req.cpu_started = time.process_time()


def post_request(worker, req, environ, resp):
    if os.environ.get("COURSEPORT_BENCH_REQUESTS"):
        route = f"{req.method} {_ID.sub('/<id>', req.path)}"
        worker.requests.append((time.time(), route, time.process_time() - req.cpu_started))


def worker_exit(server, worker):
    if os.environ.get("COURSEPORT_BENCH_PROFILE"):
        worker.profile.disable()
        worker.profile.dump_stats(os.path.join(os.environ["COURSEPORT_BENCH_PROFILE"], f"worker-{worker.pid}.prof"))
    if os.environ.get("COURSEPORT_BENCH_REQUESTS"):
        with open(os.path.join(os.environ["COURSEPORT_BENCH_REQUESTS"], f"requests-{worker.pid}.json"), "w") as out:
            json.dump(worker.requests, out)
