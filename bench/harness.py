"""Benchmark the harness overhead: state-machine steps per second of the conformance machine
against the reference backend, as a ratio to a bare machine running the same programs.

The bare machine (``bench/bare.py``) is derived from a recorded run of the conformance
machine: it has the same rules (names, arguments, targets, the ``prepare`` initializer), and
its preconditions and the number of results each rule returns to its bundles are those the
recorded run saw, so under the same settings and seed Hypothesis draws the very same programs
for it, step for step; it raises ``Diverged`` if it ever does not. Its bodies do nothing. The
gap between the two rates is the cost of the model, the checks and the backend.

Both machines run under the ``ci`` profile's settings (150 examples x 50 steps, no database,
deadline off, the same phases), or ``--examples`` of them, with one seed (``--seed``, which
takes the place of the profile's derandomization, so that the recording, the bare runs and the
conformance runs all draw alike); the recording runs once, unmeasured; then the measured runs
alternate (bare, conformance, bare, ...) for ``--repeats`` rounds, so both see the same load,
and the medians are reported. Steps are counted honestly: Hypothesis calls
``check_invariants`` once when a machine is made and once after every rule, so steps are
those calls minus the machines made. Nothing here asserts on time.

``--smoke`` is a check that the benchmark still runs, not a measurement: 3 examples of 10
steps, one round, the table written to a temporary directory (or ``--out``, never under
bench/results/).

    python bench/harness.py [--repeats 5] [--examples 150] [--seed 0] [--out bench/results/harness.md] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import hypothesis  # noqa: E402
from hypothesis import HealthCheck, seed, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from listwatch_conformance.properties.machine import conformance_machine  # noqa: E402
from listwatch_conformance.properties.profiles import PROFILES  # noqa: E402
from listwatch_conformance.sut.loading import probe_capabilities, resolve_factory  # noqa: E402

from bare import Diverged, bare_machine, record  # noqa: E402 (bench/bare.py; the script's directory is on sys.path)
from publish import output_path, publish  # noqa: E402 (bench/publish.py)


def counting(machine: type) -> type:
    """A subclass of ``machine`` that counts machines made and rule steps run (class-wide)."""

    class Counting(machine):
        made = 0
        checks = 0

        def __init__(self) -> None:
            type(self).made += 1
            super().__init__()

        def check_invariants(self, settings, output, runtimes):  # once at start, once per step
            type(self).checks += 1
            return super().check_invariants(settings, output, runtimes)

    Counting.__name__ = Counting.__qualname__ = machine.__name__
    return Counting


def run(machine: type, ci: settings, seed_value: int) -> tuple[float, int, int, float]:
    """One run of ``machine`` under ``ci`` and ``seed_value``: (seconds, machines made, steps, CPU seconds)."""
    counted = seed(seed_value)(counting(machine))
    start, cpu = time.perf_counter(), time.process_time()
    run_state_machine_as_test(counted, settings=ci)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, counted.made, counted.checks - counted.made, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--examples", type=int, default=None, help="max_examples (default: the ci profile's)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every run (default 0)")
    parser.add_argument("--sut", default="memory")
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true", help="3 examples of 10 steps, one round, output to a temp dir")
    args = parser.parse_args()
    out = output_path(args.out, args.smoke, "harness.md")

    ci = PROFILES["ci"]
    ci = settings(ci, max_examples=3 if args.smoke else args.examples or ci.max_examples,
                  stateful_step_count=10 if args.smoke else ci.stateful_step_count,
                  suppress_health_check=list(HealthCheck))
    repeats = 1 if args.smoke else args.repeats
    factory = resolve_factory(args.sut)
    conformance = conformance_machine(factory, probe_capabilities(args.sut, factory))
    programs = record(conformance, ci, args.seed)
    recorded = (sum(len(p.steps) for p in programs), len(programs))
    print(f"recorded: {recorded[0]} steps in {recorded[1]} examples", file=sys.stderr, flush=True)

    rows = []
    for i in range(repeats):
        load = os.getloadavg()[0]
        try:
            b = run(bare_machine(conformance, programs), ci, args.seed)
        except Diverged as exc:
            sys.exit(f"the bare machine left the recorded programs: {exc}. No bare machine of the same shape "
                     "exists while the conformance machine's draws depend on more than Hypothesis's choices.")
        c = run(conformance, ci, args.seed)
        rate_b, rate_c = b[2] / b[0], c[2] / c[0]
        rows.append((load, b, c, rate_b, rate_c, rate_c / rate_b, (c[2] / c[3]) / (b[2] / b[3])))
        print(f"round {i + 1}: load {load:.2f}; bare {b[2]} steps/{b[1]} examples in {b[0]:.2f}s ({b[3]:.2f}s CPU) = "
              f"{rate_b:,.0f} steps/s; conformance {c[2]} steps/{c[1]} examples in {c[0]:.2f}s ({c[3]:.2f}s CPU) = "
              f"{rate_c:,.0f} steps/s; ratio {rate_c / rate_b:.3f} (by CPU time {rows[-1][6]:.3f})",
              file=sys.stderr, flush=True)
    same = all((b[2], b[1]) == recorded == (c[2], c[1]) for _, b, c, *_ in rows)

    med = statistics.median
    lines = [
        "# Harness overhead: conformance machine vs a bare machine running the same programs",
        "",
        f"Command: `{' '.join(['python', *map(shlex.quote, sys.argv)])}`  ",
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, Hypothesis {hypothesis.__version__}, --sut {args.sut}  ",
        f"Settings: ci profile, max_examples={ci.max_examples}, stateful_step_count={ci.stateful_step_count}, "
        f"seed {args.seed}{' (SMOKE: a check that the benchmark runs, not a measurement)' if args.smoke else ''}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "Wall time is the measure; CPU time (the process's, all threads) is shown too, since on a loaded machine a",
        "CPU-bound run slows more than one that also waits.",
        "",
        "| round | load (1 min) | bare: steps, examples, wall s, CPU s | bare steps/s | conformance: steps, "
        "examples, wall s, CPU s | conformance steps/s | ratio | ratio by CPU time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, (load, b, c, rb, rc, ratio, ratio_cpu) in enumerate(rows, 1):
        lines.append(f"| {i} | {load:.2f} | {b[2]}, {b[1]}, {b[0]:.2f}, {b[3]:.2f} | {rb:,.0f} "
                     f"| {c[2]}, {c[1]}, {c[0]:.2f}, {c[3]:.2f} | {rc:,.0f} | {ratio:.3f} | {ratio_cpu:.3f} |")
    lines += ["", f"Median: bare {med(r[3] for r in rows):,.0f} steps/s, conformance {med(r[4] for r in rows):,.0f} "
              f"steps/s, ratio {med(r[5] for r in rows):.3f} (target >= 0.5); by CPU time "
              f"{med(r[6] for r in rows):.3f}; load (1 min) {min(r[0] for r in rows):.2f}-"
              f"{max(r[0] for r in rows):.2f}.", "",
              f"Same programs: the recorded run took {recorded[0]} steps in {recorded[1]} examples; "
              + ("every bare and conformance run took the same." if same else
                 "NOT every run took the same (see the table): the conformance machine's draws vary between "
                 "runs, so the bare machine ran the recorded programs, not those of every conformance run.")]
    publish(lines, out)


if __name__ == "__main__":
    main()
