"""Flake hunt: the ci profile against the reference backend, many times, with every core busy.

A correct backend must never fail. This starts one CPU hog per core (busy-looping
processes that end by themselves after ``--hog-seconds``, and are killed when the script
ends), then runs ``CI=1 pytest properties/test_conformance.py`` ``--runs`` times in a row
and records each verdict and wall time. Exit status 1 if any run failed.

``--smoke`` is a check that the script still works, not a flake hunt: one run under one hog,
with the Hypothesis profile ``bench-smoke`` (3 examples of 10 steps, ``bench/smoke_profile.py``),
the table written to a temporary directory (or ``--out``, never under bench/results/).

    python bench/stress.py [--runs 20] [--hog-seconds 900] [--out bench/results/stress.md] [--smoke] [-- PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from publish import output_path, publish  # bench/publish.py (the script's directory is on sys.path)
from smoke_profile import ARGS as SMOKE_ARGS  # bench/smoke_profile.py

REPO = Path(__file__).resolve().parent.parent
HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def start_hogs(count: int, seconds: float) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=seconds)]) for _ in range(count)]


def run_once(extra: list[str], timeout: float) -> tuple[int, float, str]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                             "properties/test_conformance.py", *extra], cwd=REPO, env={**os.environ, "CI": "1"},
                            capture_output=True, text=True, timeout=timeout)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-200:]
    return result.returncode, time.monotonic() - started, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy processes (default: one a core)")
    parser.add_argument("--hog-seconds", type=float, default=900, help="each hog ends by itself after this")
    parser.add_argument("--out", type=Path, default=None, help="default: bench/results/stress.md")
    parser.add_argument("--smoke", action="store_true",
                        help="one run under one hog with 3 examples of 10 steps, output to a temp dir")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    out = output_path(args.out, args.smoke, "stress.md") if args.smoke else args.out or REPO / "bench/results/stress.md"
    if args.smoke:
        args.runs, args.hogs, args.hog_seconds = 1, 1, 60
        args.pytest_args = [*SMOKE_ARGS, *args.pytest_args]

    hogs = start_hogs(args.hogs, args.hog_seconds)
    rows, failures = [], 0
    try:
        for i in range(1, args.runs + 1):
            code, seconds, summary = run_once(args.pytest_args, 120 if args.smoke else 1800)
            failures += code != 0
            load = os.getloadavg()[0]
            rows.append((i, code, seconds, load, summary))
            print(f"run {i}: exit {code} in {seconds:.1f}s (load {load:.1f}): {summary}", file=sys.stderr)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    times = [r[2] for r in rows]
    lines = [
        "# Stress: the ci profile against the reference backend under a CPU hog"
        + (" (SMOKE: a check that the script runs, not a flake hunt)" if args.smoke else ""), "",
        f"Command: `{shlex.join(['python', 'bench/stress.py', *sys.argv[1:]])}`"
        + (f" (pytest arguments: `{shlex.join(args.pytest_args)}`)" if args.pytest_args else ""), "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.hogs} busy-loop processes running throughout.", "",
        f"**{args.runs - failures} of {args.runs} runs passed, {failures} failed.** "
        f"Wall time per run: median {statistics.median(times):.1f} s, min {min(times):.1f} s, "
        f"max {max(times):.1f} s.", "",
        "| run | exit | seconds | load (1 min) | pytest summary |", "|---|---|---|---|---|",
        *(f"| {i} | {code} | {sec:.1f} | {load:.1f} | {summary} |" for i, code, sec, load, summary in rows),
    ]
    publish(lines, out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
