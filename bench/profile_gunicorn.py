"""gunicorn config for `bench/launch.py --profile DIR`: each worker runs under cProfile and writes
DIR/worker-{pid}.prof when it exits (read them with `python -m pstats`)."""
import cProfile
import os
import time


def post_fork(server, worker):
    worker.profile = cProfile.Profile(time.process_time)
    worker.profile.enable()


def worker_exit(server, worker):
    worker.profile.disable()
    worker.profile.dump_stats(os.path.join(os.environ["COURSEPORT_BENCH_PROFILE"], f"worker-{worker.pid}.prof"))
