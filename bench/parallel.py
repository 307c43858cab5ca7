"""Benchmark parallel scaling: wall time of the whole default suite under the ci profile,
without xdist, with ``-n 1`` and with ``-n 2``, measured in one run of this script.

Each mode runs ``CI=1 python -m pytest -p no:cacheprovider -q [XDIST ARGS]`` from the
repository root (testpaths: properties and tests), ``--rounds`` times, interleaved (plain,
-n 1, -n 2, -n 2 --dist worksteal, plain, ...) so every mode sees the same load; the
1-minute load average is recorded before each run, and the CPU time the run used, which
shows how many cores it actually got on a shared machine. The medians and the speed-up of ``-n 2`` over ``-n 1`` are
reported, with the ten longest tests of the last ``-n 2`` run (from ``--durations``),
which bound what two workers can gain. Nothing here asserts on time.

``--smoke`` is a check that the script still works, not a measurement: one round of two
modes (``SMOKE_MODES``) on a tiny selection (``SMOKE_SELECTION``) under the Hypothesis profile ``bench-smoke``
(3 examples of 10 steps, ``bench/smoke_profile.py``), the table written to a temporary directory
(or ``--out``, never under bench/results/).

    python bench/parallel.py [--rounds 1] [--out bench/results/parallel.md] [--smoke] [-- EXTRA PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time

from publish import output_path, publish  # bench/publish.py (the script's directory is on sys.path)
from smoke_profile import ARGS as SMOKE_ARGS  # bench/smoke_profile.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = {"no xdist": [], "-n 1": ["-n", "1"], "-n 2": ["-n", "2"], "-n 2 --dist worksteal": ["-n", "2", "--dist", "worksteal"]}
SUMMARY = re.compile(r"^=*\s*(\d+ passed.*?)\s*=*$", re.M)
SMOKE_MODES = ("no xdist", "-n 2")  # one run without xdist and one with it: each xdist worker costs a start-up
SMOKE_SELECTION = ["properties/test_conformance.py", "tests/test_model_lists.py"]  # 49 tests, under a second
DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S+)$", re.M)


def run(args: list[str], timeout: float) -> tuple[float, float, str, str]:
    """One pytest run, stopped after ``timeout`` seconds: (wall seconds, CPU seconds of it and its
    children, summary line, output)."""
    env = dict(os.environ, CI="1", PYTHONPATH=ROOT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = SUMMARY.findall(proc.stdout)
    summary = found[-1] if found else f"exit {proc.returncode}"
    return seconds, cpu, summary, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true",
                        help="one round on a tiny selection with 3 examples of 10 steps, output to a temp dir")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments, after --")
    args = parser.parse_args()
    out = output_path(args.out, args.smoke, "parallel.md")
    if args.smoke:
        args.rounds, args.extra = 1, [*SMOKE_ARGS, *SMOKE_SELECTION, *args.extra]

    modes = {m: MODES[m] for m in SMOKE_MODES} if args.smoke else MODES
    times: dict[str, list[tuple[float, float, float, str]]] = {m: [] for m in modes}
    last_output = ""
    for i in range(args.rounds):
        for mode, xdist in modes.items():
            load = os.getloadavg()[0]
            seconds, cpu, summary, output = run([*xdist, "--durations=10", *args.extra], 120 if args.smoke else 3600)
            times[mode].append((seconds, cpu, load, summary))
            if mode == "-n 2":
                last_output = output
            print(f"round {i + 1} {mode}: {seconds:.1f}s wall, {cpu:.1f}s CPU at load {load:.2f}: {summary}",
                  file=sys.stderr, flush=True)

    med = {m: statistics.median(t for t, _, _, _ in rows) for m, rows in times.items()}
    lines = [
        "# Parallel scaling: the whole default suite under the ci profile"
        + (" (SMOKE: a tiny selection, a check that the script runs, not a measurement)" if args.smoke else ""),
        "",
        f"Command: `{' '.join(['python', *map(shlex.quote, sys.argv)])}`  ",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "CPU time is the user + system time of pytest, its workers and the processes they started and",
        "waited for; CPU / wall is how many cores the run kept busy on average.",
        "",
        "| mode | round | load (1 min) before | wall time | CPU time | CPU / wall | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, rows in times.items():
        for i, (seconds, cpu, load, summary) in enumerate(rows, 1):
            lines.append(f"| `{mode}` | {i} | {load:.2f} | {seconds:.1f} s | {cpu:.1f} s | {cpu / seconds:.2f} "
                         f"| {summary} |")
    lines += ["", "Medians: " + ", ".join(f"{m} {t:.1f} s" for m, t in med.items())
              + ("; " + ", ".join(f"`{m}` is {med['-n 1'] / med[m]:.2f}x faster than `-n 1`"
                                  + (" (target >= 1.6x)" if m == "-n 2" else "")
                                  for m in med if m.startswith("-n 2")) if "-n 1" in med else "") + ".",
              "", "Longest tests in the last `-n 2` run:", "", "```"]
    lines += [f"{float(s):7.2f}s {phase:8} {test}" for s, phase, test in DURATION.findall(last_output)]
    lines.append("```")
    publish(lines, out)


if __name__ == "__main__":
    main()
