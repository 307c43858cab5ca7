"""Benchmark the mutant zoo: how fast the conformance machine kills each mutant, and how small
the counterexample it hands back is.

For every mutant in ``listwatch_conformance.sut.mutants.MUTANTS`` (or those named on the command line):

* over ``--seeds`` seeds, one run without shrinking (phases reuse + generate, an explicit seed):
  the wall time and the number of examples (machine instantiations) up to the first failure,
  and the guarantee reported;
* one derandomized run with shrinking: the shrunk counterexample's length in rule calls
  (``prepare`` counts as one; ``state = ...`` and ``state.teardown()`` do not) and its wall time.

A run that reaches ``--cap`` seconds stops drawing examples and is recorded as ``timeout``;
shrinking stops after ``--shrink-cap`` seconds (default: ``--cap``; Hypothesis then reports the
smallest example found so far); ``--shrink-cap 0`` skips the shrink run.
Nothing here asserts on time: the numbers are machine-dependent and not gated in CI.

``--smoke`` is a check that the benchmark still runs, not a measurement: one mutant
(``SMOKE_MUTANT`` unless others are named), one seed, a 20 s cap, shrinking capped at 5 s,
the report written to a temporary directory (or ``--out``, never under bench/results/).

    python bench/mutants.py [--seeds 5] [--cap 60] [--shrink-cap S] [--out bench/results/mutants.md] [--smoke] [MUTANT ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import hypothesis  # noqa: E402
import hypothesis.internal.conjecture.engine as hypothesis_engine  # noqa: E402
from hypothesis import HealthCheck, Phase, seed, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from listwatch_conformance.model.guarantees import Violation  # noqa: E402
from listwatch_conformance.properties.machine import conformance_machine  # noqa: E402
from listwatch_conformance.sut.loading import probe_capabilities  # noqa: E402
from listwatch_conformance.sut.mutants import MUTANTS  # noqa: E402

from publish import output_path  # noqa: E402 (bench/publish.py; the script's directory is on sys.path)

SETTINGS = dict(max_examples=300, stateful_step_count=50, deadline=None, database=None,
                suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
SMOKE_MUTANT = "BookmarkWithoutAllow"  # killed in about 0.1 s, shrunk in about 2 s (results/mutants.md)
RULE_CALL = re.compile(r"^\s*(?:[\w, ()]+ = )?state\.(\w+)\(")  # also "(rvs_0,) = state.prepare("


class RunTimeout(BaseException):
    """Raised when a machine is made after the run's time cap; a BaseException, so Hypothesis
    does not take it for a failure of the test and lets it end the run."""


@dataclass
class Outcome:
    """One run of one mutant."""

    status: str  # killed, survived or timeout
    seconds: float  # to the first failure (or to the end of the run) without shrinking; total with
    examples: int  # machines made up to and including the first failing one
    guarantee: str | None = None  # the Violation's guarantee, if one was raised
    rule_calls: int | None = None  # length of the falsifying program, when shrinking
    raised: str = ""  # the exception's type when it is not the Violation itself (e.g. a Flaky error)
    program: str = ""  # the notes Hypothesis attached: the falsifying program, when shrinking


def counted(machine: type, cap: float) -> type:
    """A subclass of ``machine`` that counts instantiations, remembers when the latest one began,
    and raises RunTimeout once ``cap`` seconds have passed since ``started`` (set by the caller)
    unless a violation was already seen."""

    class Counted(machine):
        made = 0
        started = last = 0.0
        failed = False  # once a violation was seen the cap is off: shrinking has its own cap

        def __init__(self) -> None:
            now = time.perf_counter()
            if now - Counted.started > cap and not Counted.failed:
                raise RunTimeout
            Counted.made, Counted.last = Counted.made + 1, now
            super().__init__()

        def teardown(self) -> None:
            Counted.failed = Counted.failed or self.failure is not None
            super().teardown()

    Counted.__name__ = Counted.__qualname__ = machine.__name__
    return Counted


def find_violation(exc: BaseException) -> BaseException:
    """The Violation inside ``exc`` (also inside a Flaky exception group or a cause), else ``exc``."""
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, Violation):
            return e
        stack.extend([*getattr(e, "exceptions", ()), e.__cause__, e.__context__])
    return exc


def rule_calls(exc: BaseException) -> int:
    """Rule calls in the falsifying program that Hypothesis attached to ``exc`` as notes."""
    return sum(1 for line in getattr(exc, "__notes__", ())
               if (m := RULE_CALL.match(line)) and m.group(1) != "teardown")


def run(mutant: type, cap: float, seed_value: int | None) -> Outcome:
    """One run: seeded without shrinking, or (``seed_value`` None) derandomized with shrinking."""
    shrink = seed_value is None
    machine = counted(conformance_machine(mutant, probe_capabilities(mutant.__name__, mutant)), cap)
    phases = [Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    config = settings(derandomize=shrink, phases=phases, **SETTINGS)
    if not shrink:
        machine = seed(seed_value)(machine)
    machine.started = start = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=config)
    except RunTimeout:
        return Outcome("timeout", time.perf_counter() - start, machine.made)
    except Exception as exc:  # noqa: BLE001 - any failure kills the mutant; we report which
        end = time.perf_counter()
        found = find_violation(exc)
        guarantee = found.guarantee.name if isinstance(found, Violation) else None
        raised = "" if isinstance(exc, Violation) else type(exc).__name__
        if shrink:  # the whole run, shrinking included
            return Outcome("killed", end - start, machine.made, guarantee, rule_calls(exc) or None, raised,
                           "\n".join(getattr(exc, "__notes__", ())))
        # the last machine made replayed the failing example: count and time up to its start
        return Outcome("killed", machine.last - start, machine.made - 1, guarantee, raised=raised)
    return Outcome("survived", time.perf_counter() - start, machine.made)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def bench(mutant: type, seeds: int, cap: float, shrink: bool = True) -> dict:
    """All runs of one mutant, summarised as one table row (plus raw outcomes)."""
    acceptable = {g.name for g in MUTANTS[mutant]}
    outcomes = []
    for s in range(seeds):
        o = run(mutant, cap, s)
        outcomes.append(o)
        loud = "" if o.status == "killed" else f"  <<< {o.status.upper()} on seed {s} >>>"
        print(f"  {mutant.__name__} seed {s}: {o.status} {o.guarantee or ''} {o.raised} after {o.examples} examples, "
              f"{o.seconds:.2f}s{loud}", file=sys.stderr, flush=True)
    shrunk = run(mutant, cap, None) if shrink else Outcome("not run", 0.0, 0)
    if shrink:
        print(f"  {mutant.__name__} shrink: {shrunk.status} {shrunk.guarantee or ''} {shrunk.raised} "
              f"{shrunk.rule_calls} rule calls, {shrunk.seconds:.2f}s", file=sys.stderr, flush=True)
    killed = [o for o in outcomes if o.status == "killed"]
    reported: dict[str, int] = {}
    for o in [*killed, shrunk]:
        if o.guarantee:
            reported[o.guarantee] = reported.get(o.guarantee, 0) + 1
    wrong = sorted(set(reported) - acceptable)
    missed = [f"{sum(o.status == st for o in outcomes)} {st}" for st in ("survived", "timeout")
              if any(o.status == st for o in outcomes)]
    return dict(
        mutant=mutant.__name__, wrong=wrong, killed=len(killed), seeds=seeds, shrunk=shrunk,
        time=median([o.seconds for o in killed]), examples=median([o.examples for o in killed]),
        raised=sorted({o.raised for o in outcomes if o.raised}),
        guarantees=", ".join(f"**{g} (unexpected)**" if g in wrong else g for g in sorted(reported)) or "-",
        killed_text=f"{len(killed)}/{seeds}" + (f" ({', '.join(missed)})" if missed else ""),
    )


def machine_info() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or "unknown")
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}; "
            f"Python {platform.python_version()}, Hypothesis {hypothesis.__version__}")


def report(rows: list[dict], command: str, cap: float, shrink_cap: float) -> str:
    """The Markdown table and summary."""
    lines = ["# Mutant zoo benchmark", "",
             "| mutant | guarantee reported | median time to first failure (s) | median examples to first failure "
             "| shrunk counterexample length (rule calls) | shrink time (s) | killed seeds (k/n) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        sh = r["shrunk"]
        length = ("-" if sh.rule_calls is None else str(sh.rule_calls)) + (f" ({sh.raised})" if sh.raised else "")
        seconds = fmt(sh.seconds) if shrink_cap > 0 else "-"
        lines.append(f"| {r['mutant']} | {r['guarantees']} | {fmt(r['time'])} | {fmt(r['examples'], 1)} | "
                     f"{length if sh.status == 'killed' else sh.status} | {seconds} | {r['killed_text']} |")
    every = [r for r in rows if r["killed"] == r["seeds"]]
    lengths = [r["shrunk"].rule_calls for r in rows if r["shrunk"].rule_calls is not None]
    short = sum(1 for n in lengths if n <= 8)
    flaky = ", ".join(f"{r['mutant']} ({r['shrunk'].raised})" for r in rows if r["shrunk"].raised) or "none"
    not_every = ", ".join(r["mutant"] for r in rows if r not in every) or "none"
    wrong = ", ".join(f"{r['mutant']} ({', '.join(r['wrong'])})" for r in rows if r["wrong"]) or "none"
    raised = ", ".join(f"{r['mutant']} ({', '.join(r['raised'])})" for r in rows if r["raised"]) or "none"
    lines += ["", "## Summary", "",
              f"- mutants: {len(rows)}; killed on every seed: {len(every)}/{len(rows)} (not: {not_every})",
              f"- unexpected guarantees: {wrong}",
              f"- seeded runs that raised something other than the Violation (e.g. Flaky): {raised}",
              f"- median of per-mutant median time to first failure: {fmt(median([r['time'] for r in rows if r['time'] is not None]))} s; "
              f"median of per-mutant median examples: {fmt(median([r['examples'] for r in rows if r['examples'] is not None]), 1)}",
              *([f"- shrunk counterexample <= 8 rule calls: {short}/{len(rows)} ({short / len(rows):.0%}); "
                 f"no shrunk program: {len(rows) - len(lengths)}",
                 f"- shrink runs that raised something other than the Violation: {flaky}"] if shrink_cap > 0
                else ["- shrink run skipped (--shrink-cap 0): no counterexample lengths measured"]),
              f"- per-run time cap: {cap:g} s (a seed that hits it counts as timeout)"
              + (f"; shrinking capped at {shrink_cap:g} s (Hypothesis then reports the smallest failing program "
                 "found so far)" if shrink_cap > 0 else ""),
              f"- settings: {', '.join(f'{k}={v}' for k, v in SETTINGS.items() if k != 'suppress_health_check')}, "
              "all health checks suppressed; seeded runs phases=reuse+generate; shrink run derandomized",
              f"- machine: {machine_info()}",
              f"- command: `{command}`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per mutant (default 5)")
    parser.add_argument("--cap", type=float, default=60.0, help="time cap per run, in seconds (default 60)")
    parser.add_argument("--shrink-cap", type=float, default=None,
                        help="time cap on shrinking, in seconds (default: --cap; 0 skips the shrink run)")
    parser.add_argument("--out", default=None, help="Markdown report path (default: bench/results/mutants.md)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE_MUTANT} only, 1 seed, --cap 20, --shrink-cap 5, output to a temp dir")
    parser.add_argument("mutants", nargs="*", metavar="MUTANT", help="mutant class names (default: all)")
    args = parser.parse_args(argv)
    by_name = {m.__name__: m for m in MUTANTS}
    if args.smoke:
        args.out = str(output_path(args.out, True, "mutants.md"))
        args.seeds, args.cap, args.shrink_cap = 1, 20.0, 5.0
        args.mutants = args.mutants or [SMOKE_MUTANT]
    args.out = args.out or "bench/results/mutants.md"
    unknown = [n for n in args.mutants if n not in by_name]
    if unknown:
        parser.error(f"unknown mutants: {', '.join(unknown)}; known: {', '.join(by_name)}")
    shrink_cap = args.cap if args.shrink_cap is None else args.shrink_cap
    hypothesis_engine.MAX_SHRINKING_SECONDS = shrink_cap  # read at shrink time; ends shrinking gracefully
    chosen = [by_name[n] for n in args.mutants] or list(MUTANTS)
    command = shlex.join(["python", "bench/mutants.py", *sys.argv[1:]])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    rows = []
    for i, mutant in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {mutant.__name__}", file=sys.stderr, flush=True)
        rows.append(bench(mutant, args.seeds, args.cap, shrink_cap > 0))
        text = report(rows, command, args.cap, shrink_cap)  # rewritten after every mutant: a partial run leaves a report
        with open(args.out, "w") as f:
            f.write(text if i == len(chosen) else text + f"\n(partial: {i}/{len(chosen)} mutants)\n")
        with open(os.path.splitext(args.out)[0] + ".programs.txt", "w") as f:
            f.writelines(f"## {r['mutant']}: {r['shrunk'].status} {r['shrunk'].raised}\n{r['shrunk'].program}\n\n"
                         for r in rows)
    print(text)
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
