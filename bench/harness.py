"""Benchmark the harness overhead: state-machine steps per second of the conformance machine
against the reference backend, as a ratio to a bare machine of the same shape.

The bare machine is built from the conformance machine by introspection: the same rules
(names, argument strategies, target bundles, ``consumes``, preconditions) and the same
initialize rule, but every body does nothing except return a placeholder to its bundle
(and, for a list drawn with a ``limit``, leave a continue token for ``list_next``, whose
precondition reads ``self._continuable()``, and a count of open watches for ``burst``'s). The gap between the two rates is the cost of the
model, the checks and the backend.

Both machines run under the ``ci`` profile's settings (150 examples x 50 steps,
derandomized, no database, deadline off, the same phases), or ``--examples`` of them; the
runs alternate (bare, conformance, bare, ...) for ``--repeats`` rounds, so both see the
same load, and the medians are reported. Steps are counted honestly: Hypothesis calls
``check_invariants`` once when a machine is made and once after every rule, so steps are
those calls minus the machines made. Nothing here asserts on time.

This reads Hypothesis's stateful internals (``setup_state()``, ``Rule``, the rule markers,
``check_invariants``), as of Hypothesis 6.155; a benchmark may, the suite does not.

    python bench/harness.py [--repeats 5] [--examples 150] [--out bench/results/harness.md]
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
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.stateful import INITIALIZE_RULE_MARKER, RULE_MARKER, Rule, RuleBasedStateMachine, multiple  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from listwatch_conformance.properties.machine import conformance_machine  # noqa: E402
from listwatch_conformance.sut.loading import probe_capabilities, resolve_factory  # noqa: E402
from listwatch_conformance.properties.profiles import PROFILES

from publish import publish  # noqa: E402 (bench/publish.py; the script's directory is on sys.path)


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


def bare_machine(machine: type) -> type:
    """A machine with ``machine``'s rules, arguments, bundles and preconditions, doing nothing.

    Reads the rules from Hypothesis's own record of them (``setup_state()``) and gives each
    a fresh ``Rule`` with the same targets, arguments and preconditions around a no-op body.
    """
    state = machine.setup_state()
    namespace: dict[str, object] = {}

    def body_for(name: str, returns: bool):
        def body(self, **kwargs):
            self.counter += 1
            if kwargs.get("limit") is not None:
                self.paginated.append(self.counter)  # a continue token for list_next
            if name == "list_next":
                self.paginated.pop(0)
            if name in ("watch", "watch_list"):
                self.open_watches += 1  # burst's precondition: a watch is open
            if name == "stop":
                self.open_watches -= 1
            return self.counter if returns else None

        body.__name__ = body.__qualname__ = name
        return body

    def init_body(self, **kwargs):
        return multiple(*range(len(next(iter(kwargs.values()), ()))))

    for r in state.initializers:
        init_body.__name__ = init_body.__qualname__ = r.function.__name__
        fn = init_body
        setattr(fn, INITIALIZE_RULE_MARKER, Rule(targets=r.targets, function=fn, arguments=r.arguments,
                                                 preconditions=r.preconditions))
        namespace[r.function.__name__] = fn
    for r in state.rules:
        fn = body_for(r.function.__name__, bool(r.targets))
        setattr(fn, RULE_MARKER, Rule(targets=r.targets, function=fn, arguments=r.arguments,
                                      preconditions=r.preconditions))
        namespace[r.function.__name__] = fn

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)
        self.counter = 0
        self.open_watches = 0
        self.paginated: list[int] = []

    namespace["__init__"] = __init__
    # what the conformance machine's preconditions read, kept by the bodies above
    namespace["_watching"] = lambda self: self.open_watches > 0
    namespace["_continuable"] = lambda self: self.paginated
    return type("BareMachine", (RuleBasedStateMachine,), namespace)


def run(machine: type, ci: settings) -> tuple[float, int, int]:
    """One run of ``machine`` under ``ci``: (seconds, machines made, steps)."""
    counted = counting(machine)
    start = time.perf_counter()
    run_state_machine_as_test(counted, settings=ci)
    seconds = time.perf_counter() - start
    return seconds, counted.made, counted.checks - counted.made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--examples", type=int, default=None, help="max_examples (default: the ci profile's)")
    parser.add_argument("--sut", default="memory")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    ci = PROFILES["ci"]
    ci = settings(ci, max_examples=args.examples or ci.max_examples, suppress_health_check=list(HealthCheck))
    factory = resolve_factory(args.sut)
    conformance = conformance_machine(factory, probe_capabilities(args.sut, factory))
    bare = bare_machine(conformance)
    assert [(r.function.__name__, r.arguments, r.targets) for r in bare.setup_state().rules] == [
        (r.function.__name__, r.arguments, r.targets) for r in conformance.setup_state().rules]

    rows = []
    for i in range(args.repeats):
        load = os.getloadavg()[0]
        b = run(bare, ci)
        c = run(conformance, ci)
        rate_b, rate_c = b[2] / b[0], c[2] / c[0]
        rows.append((load, b, c, rate_b, rate_c, rate_c / rate_b))
        print(f"round {i + 1}: load {load:.2f}; bare {b[2]} steps/{b[1]} examples in {b[0]:.2f}s = "
              f"{rate_b:,.0f} steps/s; conformance {c[2]} steps/{c[1]} examples in {c[0]:.2f}s = "
              f"{rate_c:,.0f} steps/s; ratio {rate_c / rate_b:.3f}", file=sys.stderr, flush=True)

    med = statistics.median
    lines = [
        "# Harness overhead: conformance machine vs a bare machine of the same shape",
        "",
        f"Command: `{' '.join(['python', *map(shlex.quote, sys.argv)])}`  ",
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, Hypothesis {hypothesis.__version__}, --sut {args.sut}  ",
        f"Settings: ci profile, max_examples={ci.max_examples}, stateful_step_count={ci.stateful_step_count}, "
        f"derandomize={ci.derandomize}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| round | load (1 min) | bare: steps, examples, s | bare steps/s | conformance: steps, examples, s "
        "| conformance steps/s | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, (load, b, c, rb, rc, ratio) in enumerate(rows, 1):
        lines.append(f"| {i} | {load:.2f} | {b[2]}, {b[1]}, {b[0]:.2f} | {rb:,.0f} | {c[2]}, {c[1]}, {c[0]:.2f} "
                     f"| {rc:,.0f} | {ratio:.3f} |")
    lines += ["", f"Median: bare {med(r[3] for r in rows):,.0f} steps/s, conformance {med(r[4] for r in rows):,.0f} "
              f"steps/s, ratio {med(r[5] for r in rows):.3f} (target >= 0.5)."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
