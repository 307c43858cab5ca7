"""A HypoFuzz target: the conformance machine as a ``RuleBasedStateMachine.TestCase``.

HypoFuzz (``hypothesis fuzz``) fuzzes the Hypothesis tests pytest collects; it recognises a
state machine through its ``TestCase``, not through a test function that calls
``run_state_machine_as_test``, so the conformance test in ``properties/`` is not fuzzable
as it stands. This module exposes the same machine that way. The backend is chosen with
``$LISTWATCH_SUT`` (the ``--sut`` syntax: ``memory``, ``MODULE:NAME``...; default
``memory``). It lives outside the default test paths, so plain ``pytest`` never runs it.

    hypothesis fuzz -n 2 --no-dashboard -- bench/fuzz_conformance.py
"""

from __future__ import annotations

import os

from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.sut.loading import probe_capabilities, resolve_factory

SUT = os.environ.get("LISTWATCH_SUT", "memory")
_factory = resolve_factory(SUT)
ListWatchConformance = conformance_machine(_factory, probe_capabilities(SUT, _factory))

TestListWatchContract = ListWatchConformance.TestCase
