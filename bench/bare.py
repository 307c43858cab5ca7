"""A bare machine for ``bench/harness.py``: the conformance machine's own programs, replayed
without the work.

A bare machine must make Hypothesis do exactly what the conformance machine makes it do (the
same rules chosen, the same arguments drawn, the same bundles filled) while running no
backend, no model and no checks. While no example fails, what Hypothesis draws depends on the
machine in two ways only: which preconditions hold between steps, and how many results each
rule returns to its bundles. Both are *recorded* from a real run of the conformance machine, never restated here,
so the bare machine follows the conformance machine whatever its preconditions read or its
rules return:

* ``record(machine, settings, seed)`` runs a copy of ``machine`` whose rules call the real
  bodies and note the rule run and how many results it returned, and whose preconditions call
  the real ones and note, step by step, each value Hypothesis asked for;
* ``bare_machine(machine, programs)`` has ``machine``'s rules (names, arguments, targets,
  initializers) around bodies that return as many placeholders as the recorded run did, and
  preconditions that answer what the recorded run answered at the same step.

Run with the same settings and the same seed, the bare machine then makes Hypothesis replay
the recorded programs. If it ever leaves them (another rule chosen, a program shorter or
longer than recorded, more examples), it raises ``Diverged``: the conformance machine's draws
then depend on something other than Hypothesis's choices (timing, say), and no bare machine
of the same shape exists. ``Diverged`` is a BaseException, so Hypothesis ends the run instead
of shrinking it.

This reads Hypothesis's stateful internals (``setup_state()``, ``Rule``, the rule markers,
``check_invariants``, ``MultipleResults``), as of Hypothesis 6.170; a benchmark may, the
suite does not.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from hypothesis import seed
from hypothesis import settings as Settings
from hypothesis.stateful import (INITIALIZE_RULE_MARKER, RULE_MARKER, MultipleResults, Rule, RuleBasedStateMachine,
                                 multiple, run_state_machine_as_test)


class Diverged(BaseException):
    """The bare run left the recorded programs; a BaseException, so Hypothesis does not take
    it for a failure of the test (and shrink it) but lets it end the run."""


@dataclass
class Program:
    """One example of the recorded run."""

    steps: list[tuple[str, int]] = field(default_factory=list)  # per step: rule run, results returned
    # per step boundary (before the first step, after each): the value of each precondition Hypothesis asked for
    valid: list[dict[int, bool]] = field(default_factory=list)


def _preconditions(machine: type) -> list:
    """Every precondition of every rule of ``machine``, in a fixed order."""
    return [p for r in machine.setup_state().rules for p in r.preconditions]


def _clone(machine: type, base: type, name: str, body_for, precondition_for, namespace: dict) -> type:
    """A class on ``base`` with ``machine``'s rules and initializers (same names, arguments,
    targets), the bodies ``body_for(rule)`` and the preconditions ``precondition_for(index)``,
    the index counting over ``_preconditions(machine)``."""
    state = machine.setup_state()
    index = 0
    for marker, rules in ((INITIALIZE_RULE_MARKER, state.initializers), (RULE_MARKER, state.rules)):
        for r in rules:
            fn = body_for(r)
            fn.__name__ = fn.__qualname__ = r.function.__name__
            preconditions = tuple(precondition_for(index + j) for j in range(len(r.preconditions)))
            index += len(r.preconditions)
            setattr(fn, marker, Rule(targets=r.targets, function=fn, arguments=r.arguments,
                                     preconditions=preconditions))
            namespace[r.function.__name__] = fn
    return type(name, (base,), namespace)


def _returned(rule: Rule, result: object) -> int:
    """How many results a rule's return value adds to each of its target bundles."""
    if not rule.targets:
        return 0
    return len(result.values) if isinstance(result, MultipleResults) else 1


def record(machine: type, settings: Settings, seed_value: int) -> list[Program]:
    """Run ``machine`` once under ``settings`` and the seed ``seed_value``; return its programs."""
    programs: list[Program] = []
    preconditions = _preconditions(machine)

    def body_for(r: Rule):
        def body(self, **kwargs):
            result = r.function(self, **kwargs)
            self._program.steps.append((r.function.__name__, _returned(r, result)))
            return result
        return body

    def __init__(self) -> None:
        machine.__init__(self)
        self._program = Program()
        programs.append(self._program)

    def precondition_for(i: int):
        def noted(self) -> bool:
            holds = self._program.valid[-1][i] = bool(preconditions[i](self))
            return holds
        return noted

    def check_invariants(self, settings, output, runtimes):  # once before the first step, once after each
        self._program.valid.append({})
        return machine.check_invariants(self, settings, output, runtimes)

    recorder = _clone(machine, machine, machine.__name__, body_for, precondition_for,
                      {"__init__": __init__, "check_invariants": check_invariants})
    run_state_machine_as_test(seed(seed_value)(recorder), settings=settings)
    return programs


def bare_machine(machine: type, programs: list[Program]) -> type:
    """A machine with ``machine``'s rules that replays ``programs`` (from ``record``) doing nothing else.

    Make a fresh one for every run: it counts the examples it made from the first ``programs``.
    """
    made = [0]

    def body_for(r: Rule):
        name, targets = r.function.__name__, bool(r.targets)

        def body(self, **kwargs):
            steps = self._program.steps
            if self._step >= len(steps) or steps[self._step][0] != name:
                ran = steps[self._step][0] if self._step < len(steps) else "nothing (the program had ended)"
                raise Diverged(f"example {self._index + 1}, step {self._step + 1}: the bare run chose {name}, "
                               f"the recorded conformance run {ran}")
            return multiple(*range(steps[self._step][1])) if targets else None
        return body

    def precondition_for(i: int):
        def holds(self) -> bool:
            valid = self._program.valid
            if self._step >= len(valid) or i not in valid[self._step]:
                raise Diverged(f"example {self._index + 1}, step {self._step + 1}: the bare run asked for a "
                               "precondition the recorded conformance run did not ask for there")
            return valid[self._step][i]
        return holds

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)
        self._index = made[0]
        made[0] += 1
        if self._index >= len(programs):
            raise Diverged(f"the bare run made more than the recorded {len(programs)} examples")
        self._program = programs[self._index]
        self._step = -1

    def check_invariants(self, settings, output, runtimes):  # once before the first step, once after each
        self._step += 1
        return RuleBasedStateMachine.check_invariants(self, settings, output, runtimes)

    def teardown(self) -> None:
        if sys.exc_info()[1] is None and self._step != len(self._program.steps):
            raise Diverged(f"example {self._index + 1}: the bare run stopped after {self._step} steps, "
                           f"the recorded one after {len(self._program.steps)}")

    return _clone(machine, RuleBasedStateMachine, "BareMachine", body_for, precondition_for,
                  {"__init__": __init__, "check_invariants": check_invariants, "teardown": teardown})
