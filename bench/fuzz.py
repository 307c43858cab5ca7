"""A bounded HypoFuzz campaign on the conformance machine, and what it did.

Runs ``hypothesis fuzz -n WORKERS --no-dashboard -- bench/fuzz_conformance.py`` from the
repository root for ``--seconds``, then stops it with SIGINT (as ctrl-C would) and reads
HypoFuzz's reports for the target from the example database (``.hypothesis/examples``,
which HypoFuzz shares with Hypothesis): examples run by status, distinct behaviours and
fingerprints (coverage), and failures found. A real campaign runs the same command with no
bound, on as many cores and machines as it has, all pointed at one shared database (see
bench/README.md).

Needs HypoFuzz (the ``bench`` extra); without it the script stops at once and says so.
``--smoke`` is a check that the script still works, not a campaign: one worker for 20 s, run
in a new temporary directory (so its example database is there, not in the checkout), the
report written to a temporary directory (or ``--out``, never under bench/results/).

    python bench/fuzz.py [--seconds 300] [--workers 2] [--out bench/results/fuzz.md] [--smoke]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from publish import output_path, publish  # bench/publish.py (the script's directory is on sys.path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def reports_for_target() -> tuple[list, list]:
    """(latest report per worker, shrunk failures) that HypoFuzz saved for the target."""
    import hypofuzz
    from hypofuzz.database import FailureState, HypofuzzDatabase
    from hypothesis import settings
    from hypothesis.internal.reflection import function_digest
    from hypothesis.stateful import get_state_machine_test

    from bench.fuzz_conformance import ListWatchConformance

    test = get_state_machine_test(ListWatchConformance)
    key = function_digest(test.hypothesis.inner_test)
    db = HypofuzzDatabase(settings().database)
    latest: dict[str, object] = {}
    for report in db.reports.fetch(key):
        if report.worker_uuid not in latest or report.timestamp > latest[report.worker_uuid].timestamp:
            latest[report.worker_uuid] = report
    del hypofuzz
    return list(latest.values()), list(db.failures(state=FailureState.SHRUNK).fetch(key))


def stop(proc: subprocess.Popen, seconds: float) -> tuple[str, str]:
    """Stop the campaign's process group: SIGINT (ctrl-C), then SIGTERM, then SIGKILL, 30 s apart.
    With several workers HypoFuzz does not always exit on SIGINT alone."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        os.killpg(proc.pid, sig)
        try:
            out, _ = proc.communicate(timeout=30)
            return out, f"stopped after {seconds:.0f} s with {sig.name}"
        except subprocess.TimeoutExpired:
            continue
    return "", f"did not stop after {seconds:.0f} s"


def hypothesis_command() -> str:
    """The ``hypothesis`` command of this Python (beside its executable), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "hypothesis")
    return beside if os.access(beside, os.X_OK) else shutil.which("hypothesis") or "hypothesis"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true", help="one worker for 20 s in a temp dir, output there")
    args = parser.parse_args()
    if importlib.util.find_spec("hypofuzz") is None:
        parser.error("needs HypoFuzz: pip install -e '.[bench]'")
    report = output_path(args.out, args.smoke, "fuzz.md")

    target = "bench/fuzz_conformance.py"
    if args.smoke:  # the campaign's database is .hypothesis/ in the working directory: keep it out of the checkout
        args.seconds, args.workers = 20, 1
        report = report.resolve()
        os.chdir(tempfile.mkdtemp(prefix="listwatch-bench-smoke-fuzz-"))
        target = os.path.join(ROOT, target)
    else:
        os.chdir(ROOT)
    cmd = [hypothesis_command(), "fuzz", "-n", str(args.workers), "--no-dashboard", "--", target]
    load_before = os.getloadavg()
    started = time.time()
    proc = subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=ROOT), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=args.seconds)
        ended = f"exited by itself with code {proc.returncode}"
    except subprocess.TimeoutExpired:
        out, ended = stop(proc, args.seconds)
    wall = time.time() - started
    load_after = os.getloadavg()

    reports, failures = reports_for_target()
    counts: dict[str, int] = {}
    for r in reports:
        for status, n in r.status_counts.items():
            counts[status.name] = counts.get(status.name, 0) + n
    total = sum(counts.values())
    lines = [
        "# A bounded HypoFuzz campaign on the conformance machine"
        + (" (SMOKE: a check that the script runs, not a campaign)" if args.smoke else ""),
        "",
        f"Command: `{' '.join(['python', *map(shlex.quote, sys.argv)])}`, which runs `{shlex.join(cmd)}`  ",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}; load (1, 5, 15 min) before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in load_after)}",
        "",
        f"The campaign {ended} ({wall:.0f} s wall).",
        "",
        f"- workers that reported: {len(reports)}",
        f"- examples run: {total:,} ({', '.join(f'{k.lower()} {v:,}' for k, v in sorted(counts.items()))}); "
        f"{total / wall:.1f} examples/s",
        f"- behaviours (distinct branches covered): {max((r.behaviors for r in reports), default=0)}; "
        f"fingerprints: {max((r.fingerprints for r in reports), default=0)}",
        f"- fuzzing time per worker (s): {', '.join(f'{r.elapsed_time:.0f}' for r in reports) or '-'}",
        f"- shrunk failures saved: {len(failures)}",
        "",
        "Last lines of HypoFuzz's output:",
        "",
        "```",
        *[line for line in out.strip().splitlines()[-8:]],
        "```",
    ]
    publish(lines, report)


if __name__ == "__main__":
    main()
