"""A HypoFuzz target: the conformance machine as a ``RuleBasedStateMachine.TestCase``.

HypoFuzz (``hypothesis fuzz``) fuzzes the Hypothesis tests pytest collects; it recognises a
state machine through its ``TestCase``, not through a test function that calls
``run_state_machine_as_test``, so the conformance test in ``properties/`` is not fuzzable
as it stands. This module exposes the same machine that way. The backend is chosen with
``$LISTWATCH_SUT`` (the ``--sut`` syntax: ``memory``, ``MODULE:NAME``...; default
``memory``). It lives outside the default test paths, so plain ``pytest`` never runs it.

    hypothesis fuzz -n 2 --no-dashboard -- bench/fuzz_conformance.py

Run as a script with ``--smoke``, it checks that the target still works without HypoFuzz: it
runs ``TestListWatchContract`` as unittest would (3 examples of 10 steps, derandomized, no
database) and writes a one-row table to a temporary directory (or ``--out``, never under
bench/results/); exit status 1 if the test failed.

    python bench/fuzz_conformance.py --smoke [--out PATH]
"""

from __future__ import annotations

import os
import sys

from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.sut.loading import probe_capabilities, resolve_factory

SUT = os.environ.get("LISTWATCH_SUT", "memory")
_factory = resolve_factory(SUT)
ListWatchConformance = conformance_machine(_factory, probe_capabilities(SUT, _factory))

TestListWatchContract = ListWatchConformance.TestCase


def smoke(argv: list[str] | None = None) -> int:
    """The ``--smoke`` run (see the module docstring); its exit status."""
    import argparse
    import time
    import unittest

    from hypothesis import settings

    from publish import output_path, publish  # bench/publish.py (the script's directory is on sys.path)

    parser = argparse.ArgumentParser(description="A HypoFuzz target (hypothesis fuzz -- bench/fuzz_conformance.py); "
                                     "as a script it has one mode, --smoke: a short run without HypoFuzz.")
    parser.add_argument("--smoke", action="store_true", required=True)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    class Counted(ListWatchConformance):
        made = steps = 0

        def __init__(self) -> None:
            type(self).made += 1
            super().__init__()

        def check_invariants(self, settings, output, runtimes):  # once before the first step, once after each
            type(self).steps += 1
            return super().check_invariants(settings, output, runtimes)

    case = Counted.TestCase
    case.settings = settings(max_examples=3, stateful_step_count=10, derandomize=True, database=None, deadline=None)
    started = time.perf_counter()
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=0).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(case))
    seconds = time.perf_counter() - started
    verdict = "passed" if result.wasSuccessful() else "FAILED"
    publish(["# The HypoFuzz target, run once without HypoFuzz (SMOKE: a check that it runs)", "",
             "| target | backend | examples | steps | seconds | result |", "|---|---|---|---|---|---|",
             f"| bench/fuzz_conformance.py::TestListWatchContract | {SUT} | {Counted.made} "
             f"| {Counted.steps - Counted.made} | {seconds:.2f} | {verdict} |"],
            output_path(args.out, True, "fuzz_conformance.md"))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(smoke())
