"""Benchmarks of the client suite: throughput against the reference reflector, and how fast and how
small the client machine kills each mutant of the zoo. Measurements, not tests.

    python bench/clients.py [--seeds 3] [--shrink-cap 20] [--out bench/results/clients.md]

- reference: the ci profile's settings (150 examples of up to 50 steps, derandomized) against
  ``reflector``, ``reflector-watch-list`` and ``reflector-iterator``: wall time, examples, steps (rule calls) and steps/s;
- mutants: per mutant, ``--seeds`` seeded runs without shrinking (max_examples=300, 50 steps): the
  median time to the first violation and the guarantee; then one derandomized run with shrinking
  (capped at ``--shrink-cap`` seconds): the shrunk program's length in rule calls.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import time
from pathlib import Path

import hypothesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.stateful import get_state_machine_test, invariant

from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.properties.profiles import PROFILES
from listwatch_conformance.sut.clients.mutants import MUTANTS
from listwatch_conformance.sut.clients.reflector import reflector, reflector_iterator, reflector_watch_list
from publish import output_path  # bench/publish.py (the script's directory is on sys.path)

KILL = dict(max_examples=300, stateful_step_count=50, deadline=None, database=None, report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck))


def counting(machine):
    class Counted(machine):
        examples = steps = 0

        def __init__(self):
            type(self).examples += 1
            super().__init__()

        @invariant()
        def count_steps(self):
            type(self).steps += 1
    return Counted


def violation_in(exc: BaseException | None) -> Violation | None:
    if exc is None or isinstance(exc, Violation):
        return exc
    for inner in [*getattr(exc, "exceptions", ()), exc.__cause__, exc.__context__]:
        found = violation_in(inner)
        if found is not None:
            return found
    return None


def run(machine, run_settings, seed_value=None):
    test = get_state_machine_test(machine, settings=run_settings)
    if seed_value is not None:
        test = hypothesis.seed(seed_value)(test)
    started = time.monotonic()
    try:
        test()
        error = None
    except BaseException as exc:  # noqa: BLE001 - measured
        error = exc
    return time.monotonic() - started, error


def reference_rows() -> list[str]:
    rows = []
    for name, factory in (("reflector", reflector), ("reflector-watch-list", reflector_watch_list),
                          ("reflector-iterator", reflector_iterator)):
        machine = counting(client_machine(factory))
        seconds, error = run(machine, PROFILES["ci"])
        steps = machine.steps - machine.examples  # the invariant also runs once after initialization
        verdict = "passed" if error is None else f"FAILED: {str(error).splitlines()[0]}"
        rows.append(f"| {name} | {seconds:.1f} | {machine.examples} | {steps} | {steps / seconds:.0f} | {verdict} |")
    return rows


def rule_calls(error: BaseException) -> int | None:
    notes = getattr(error, "__notes__", None) or getattr(violation_in(error), "__notes__", [])
    calls = [n for n in notes if re.match(r"^state\.\w+\(", n) and not n.startswith("state.teardown")
             and not n.startswith("state.view_agrees")]
    return len(calls) or None


def mutant_rows(seeds: int, shrink_cap: float, only: tuple[str, ...] = ()) -> list[str]:
    rows = []
    hypothesis_engine.MAX_SHRINKING_SECONDS = shrink_cap
    for factory, expected in MUTANTS.items():
        if only and factory.__name__ not in only:
            continue
        times, names = [], set()
        for s in range(seeds):
            seconds, error = run(client_machine(factory), settings(**KILL, phases=[Phase.generate]), s)
            found = violation_in(error)
            if found is not None:
                times.append(seconds)
                names.add(found.guarantee.name)
        shrunk = "-"
        if shrink_cap > 0:
            _, error = run(client_machine(factory), settings(**KILL, derandomize=True))
            shrunk = str(rule_calls(error)) if violation_in(error) is not None else "no violation"
        median = f"{statistics.median(times):.1f}" if times else "-"
        ok = names <= {g.name for g in expected} and len(times) == seeds
        rows.append(f"| {factory.__name__} | {', '.join(sorted(names)) or 'survived'} | {len(times)}/{seeds} | "
                    f"{median} | {shrunk} | {'ok' if ok else 'CHECK'} |")
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shrink-cap", type=float, default=20.0)
    parser.add_argument("--out", default=None, help="default: bench/results/clients.md")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--smoke", action="store_true",
                        help="check that the benchmark still runs (one mutant, one seed, no reference run, a "
                             "2 s shrink); measures nothing and writes outside bench/results/")
    args = parser.parse_args(argv)
    only: tuple[str, ...] = ()
    if args.smoke:
        args.seeds, args.shrink_cap, args.skip_reference, only = 1, 2.0, True, ("RetrySameRVAfterExpired",)
    out = output_path(args.out, args.smoke, "clients.md") or Path("bench/results/clients.md")
    logging.disable(logging.CRITICAL)
    lines = ["# Client suite benchmarks", "", f"Command: `python {' '.join(sys.argv)}`; Hypothesis "
             f"{hypothesis.__version__}; wait budget 1 s.", ""]
    if not args.skip_reference:
        lines += ["## The reference reflector under the ci profile", "",
                  "| client | seconds | examples | steps | steps/s | verdict |", "|---|---|---|---|---|---|",
                  *reference_rows(), ""]
        print("\n".join(lines), flush=True)
    lines += ["## The zoo", "", f"Seeds 0..{args.seeds - 1} without shrinking (max_examples=300, 50 steps); one "
              f"derandomized run with shrinking capped at {args.shrink_cap:g} s for the program length "
              "(rule calls, without teardown and invariant lines).", "",
              "| mutant | guarantee | killed | median s to detect | shrunk rule calls | expected |",
              "|---|---|---|---|---|---|", *mutant_rows(args.seeds, args.shrink_cap, only), ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
