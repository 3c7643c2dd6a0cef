"""Run a benchmark and write what it printed into docs/benchmarks.md, so the page always shows figures the
benchmarks produced rather than numbers copied by hand.

    .venv/bin/python bench/record.py NAME -- bench/SCRIPT.py [ARGS…]

NAME picks the `<!-- figures:NAME -->` block of docs/benchmarks.md that the output replaces.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"


def fill(text: str, name: str, command: str, output: str) -> str:
    start, end = f"<!-- figures:{name} -->", f"<!-- /figures:{name} -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC.relative_to(ROOT)} has no {start} … {end} block to fill")
    block = "\n".join([start, f"`{command}`, {date.today().isoformat()}, {os.cpu_count()} cores, "
                              f"Python {platform.python_version()}:", "", "```", output.rstrip(), "```", end])
    return pattern.sub(lambda _match: block, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the benchmark and its arguments")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark to run after --")
    run = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {run.returncode}); docs/benchmarks.md left as it was")
    DOC.write_text(fill(DOC.read_text(), args.name, " ".join(command), run.stdout))


if __name__ == "__main__":
    main()
