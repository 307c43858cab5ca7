"""A conformance run to the end: a verdict for every checked guarantee.

Hypothesis stops at the first failure it finds and shrinks it. :func:`run_campaign`
then searches again with every guarantee found broken so far left unchecked (examples
that break one first are inconclusive, see ``conformance_machine``), until a complete
search finds nothing. So each broken guarantee gets its own shrunk counterexample, and a
guarantee counts as passed only after a complete search that checked it found nothing.
With ``first_only`` (pytest ``-x``) the campaign stops at the first finding.

Once a search found its first failing example, the rest of it (Hypothesis's shrink) waits for
what watches owe a twentieth of the wait budget, and for late extras a twentieth of the quiet
period: a failure found by waiting for something that never comes (mostly Liveness and
ProgressLiveness) costs that wait in every failing candidate, and any other failure costs the
look for late events that follows it and a quiet period per example. The shrunk program is then
replayed at the full budget, and only a confirmed failure is reported (otherwise the search is
done again the slow way), so the verdict and its program are those of the full budget.

A confirmed wait-costly finding also ends the campaign (:data:`SILENT`): the backend kept back
something it owed for the whole wait budget, and every later search would wait that budget in
most of its examples (minutes for a dead dispatcher, which breaks Liveness, ProgressLiveness,
Reliable, FilterTransitions and SelectorSemantics by name, one search each). The guarantees left
get no verdict, and the campaign says why (``stopped``); ``--guarantee`` judges them one by one.
A correct backend never has such a finding, so its verdict is the same.

Anything that is not a guarantee violation (a BackendFault, a hang, Hypothesis reporting
a flaky strategy) ends the campaign and is kept as its ``fault``, never as a finding.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable

import attrs
import hypothesis
from hypothesis import reproduce_failure
from hypothesis.reporting import with_reporter
from hypothesis.errors import DidNotReproduce, FlakyFailure, FlakyStrategyDefinition
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test
from hypothesis.statistics import collector

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.harness import BackendFault

_BLOB = re.compile(r"@reproduce_failure\('(?P<version>[^']+)', b'(?P<blob>[^']+)'\)")
_HEADING = re.compile(r"^(Falsifying example|Failing test case)\b")


@attrs.frozen
class Finding:
    """One broken guarantee: the violation and the shrunk program that shows it."""

    guarantee: G
    violation: Violation = attrs.field(eq=False, repr=False)
    program: tuple[str, ...]  # the shrunk rule calls, with the suite's notes between them
    reproduce: str | None  # the blob that replays exactly this example (``--reproduce``)
    flaky: bool  # the failure did not happen again when Hypothesis replayed it
    waited: bool = False  # found by waiting for something owed that never came, at the full budget


@attrs.frozen
class Search:
    """One Hypothesis search of the campaign, from Hypothesis's own statistics."""

    checked: tuple[str, ...]
    examples: int  # test cases run in the generate phase
    valid: int
    shrink_steps: int
    seconds: float
    stopped_because: str
    found: str | None  # the guarantee found broken, if any


@attrs.define
class Campaign:
    checked: frozenset[G]
    findings: list[Finding] = attrs.Factory(list)
    searches: list[Search] = attrs.Factory(list)
    fault: BaseException | None = None  # what ended the campaign other than a verdict
    complete: bool = False  # the last search ran to its end and found nothing
    stopped: str | None = None  # why the campaign ended with guarantees left unjudged (without a fault)
    replayed_clean: bool = False  # ``reproduce`` was given and that example no longer fails

    def passed(self) -> frozenset[G]:
        """Guarantees checked by a complete search and never found broken."""
        if not self.complete:
            return frozenset()
        return self.checked - {f.guarantee for f in self.findings}


PROGRAM_HEADING = "Shrunk program:"


def reproduce_blob(notes: list[str]) -> str | None:
    """The blob in the ``@reproduce_failure`` line Hypothesis added to a failure's notes."""
    return next((m["blob"] for n in notes if (m := _BLOB.search(n))), None)


def program_lines(notes: list[str]) -> tuple[str, ...]:
    """The rule calls (and the suite's notes between them) out of the notes Hypothesis added to a failure.

    Independent of Hypothesis's wording: its heading ("Falsifying example:" up to 6.16x, "Failing
    test case: <state machine>" since) and its advice to add ``@reproduce_failure`` are left out.
    A state machine's program starts with ``state = MachineName()``; without such a line, every
    note but Hypothesis's heading and advice is kept.
    """
    kept = [n for n in notes if not _BLOB.search(n)]
    start = next((i for i, n in enumerate(kept) if n.startswith("state = ")), None)
    if start is None:
        return tuple(n for n in kept if not _HEADING.match(n))
    return tuple(kept[start:])


def program_text(violation: Violation, program: tuple[str, ...]) -> str:
    """A failure as the suite shows it: the violation, then the shrunk program under our own heading."""
    return "\n".join([str(violation), PROGRAM_HEADING, *program]) + "\n"


def _finding(exc: BaseException) -> Finding | None:
    flaky = isinstance(exc, FlakyFailure)
    if flaky:
        violations = [e for e in exc.exceptions if isinstance(e, Violation)]
        if not violations:
            return None
        notes = list(getattr(exc, "__notes__", [])) + list(getattr(violations[0], "__notes__", []))
        violation = violations[0]
    elif isinstance(exc, Violation):
        violation, notes = exc, list(getattr(exc, "__notes__", []))
    else:
        return None
    blob = reproduce_blob(notes)
    program = program_lines(notes)
    return Finding(violation.guarantee, violation, program, blob, flaky)


def _search_stats(generated_stats: list[dict], all_stats: list[dict], checked: frozenset[G], seconds: float,
                  found: G | None) -> Search:
    """One search's record: examples from the run that generated them, shrink steps from every run."""
    phases = generated_stats[-1] if generated_stats else {}
    generated = phases.get("generate-phase", {}).get("test-cases", [])
    return Search(
        checked=tuple(sorted(g.name for g in checked)),
        examples=len(generated),
        valid=sum(1 for case in generated if case.get("status") == "valid"),
        shrink_steps=sum(len(s.get("shrink-phase", {}).get("test-cases", [])) for s in all_stats),
        seconds=round(seconds, 3),
        stopped_because=phases.get("stopped-because", "a failure was found" if found else "unknown"),
        found=found.name if found else None,
    )


SILENT = ("the backend kept back what it owed for the whole wait budget, and every later search would "
          "wait that budget in most of its examples")

# Once a failure is found, the shrink waits this fraction of the budget for what is owed (and of the quiet
# period for extras); the shrunk program is confirmed at the full budget.
QUICK_SHRINK_SCALE = 0.05


@contextlib.contextmanager
def _failures(quick: bool):
    """Within: a list of the failing examples the machine raised, each as whether it was found by waiting
    for what never came. With ``quick``, from the first of them on, owed things are waited for
    ``QUICK_SHRINK_SCALE`` of the budget (Hypothesis's shrink follows the first failure)."""
    seen: list[bool] = []

    def on_failure(violation, waited: bool) -> None:
        if quick and not seen:
            HARNESS.owed_wait_scale = QUICK_SHRINK_SCALE
        seen.append(waited)

    HARNESS.on_failure = on_failure
    try:
        yield seen
    finally:
        HARNESS.on_failure = None
        HARNESS.owed_wait_scale = 1.0


def _attempt(test: Callable[[], None], stats: list[dict]) -> tuple[Finding | None, BaseException | None]:
    """Run one Hypothesis test: the finding it raised, or the fault (anything but a violation), or neither."""
    try:
        with collector.with_value(stats.append):
            test()
    except FlakyStrategyDefinition as exc:
        return None, _nondeterministic(exc)
    except BaseException as exc:  # noqa: BLE001 - sorted: a verdict, or the campaign's end
        finding = _finding(exc)
        return finding, (None if finding else exc)
    return None, None


def _nondeterministic(exc: FlakyStrategyDefinition) -> BackendFault:
    """Hypothesis ran a program again and the rules possible at some step differed: what the system
    under test did depended on more than the program (for a client: on timers, or on a wait budget
    too short for the machine's load). No verdict can be trusted then, so none is given."""
    fault = BackendFault(
        "the system under test behaved differently when Hypothesis ran the same program again "
        "(FlakyStrategyDefinition), so the search cannot go on. For a client, its requests must follow "
        "from the server's answers alone: a wall-clock timer in the client, or a machine so loaded that "
        "the client misses the wait budget on one run and not on the next, breaks that. Try a larger "
        f"--wait-budget; if it persists, the client is timing-dependent. Hypothesis said: {str(exc).splitlines()[0]}")
    fault.__cause__ = exc
    return fault


def _replay(test: Callable[[], None], blob: str) -> Callable[[], None]:
    """``test`` run on the one example ``blob`` encodes. Hypothesis prints a replayed example's program
    (it adds no notes then): the printout is caught and added to the failure's notes, with the blob,
    so a replay is shown and reported as a search's failure is, under our heading and rerun line."""
    replay = reproduce_failure(hypothesis.__version__, blob.encode())(test)

    def replay_with_program() -> None:
        printed: list[str] = []
        try:
            with with_reporter(printed.append):
                replay()
        except BaseException as exc:
            notes = getattr(exc, "__notes__", [])
            if not program_lines(notes) and printed:
                exc.__notes__ = [*notes, *printed, f"@reproduce_failure('{hypothesis.__version__}', b'{blob}')"]
            raise

    return replay_with_program


def _search(test_for: Callable[[object], Callable[[], None]], settings, stats: list[dict],
            generated: list[dict]) -> tuple[Finding | None, BaseException | None]:
    """Search, and shrink with short waits; the shrunk program is confirmed at the full wait budget (if it
    does not fail the same way there, the search is done again the slow way). The finding is ``waited``
    when its last run at the full budget found it by waiting for what never came."""
    with _failures(quick=True) as seen:
        finding, fault = _attempt(test_for(settings), generated)
    if finding is None or not seen:
        return finding, fault
    if finding.reproduce:
        with _failures(quick=False) as seen:
            confirmed, _ = _attempt(_replay(test_for(settings), finding.reproduce), stats)
        if confirmed is not None and confirmed.guarantee is finding.guarantee:
            # the violation as seen at the full budget; the program and blob are the shrink's
            return attrs.evolve(finding, violation=confirmed.violation, waited=bool(seen and seen[-1])), None
    with _failures(quick=False) as seen:
        finding, fault = _attempt(test_for(settings), stats)
    if finding is not None:
        finding = attrs.evolve(finding, waited=bool(seen and seen[-1]))
    return finding, fault


def run_campaign(machine_for: Callable[[frozenset[G]], type[RuleBasedStateMachine]], checked: frozenset[G],
                 settings, *, first_only: bool = False, reproduce: str | None = None) -> Campaign:
    """Search ``machine_for(guarantees)`` until every guarantee in ``checked`` has a verdict.

    ``reproduce`` (a blob Hypothesis printed) replays that one example instead of searching; if
    it passes now, the campaign says so (``replayed_clean``) and gives no verdict.
    """
    campaign = Campaign(checked)
    remaining = set(checked)
    while remaining:
        machine = machine_for(frozenset(remaining))

        def test_for(run_settings, machine=machine):
            return get_state_machine_test(machine, settings=run_settings)

        generated: list[dict] = []
        stats: list[dict] = []
        started = time.monotonic()
        if reproduce:
            finding, fault = _attempt(_replay(test_for(settings), reproduce), generated)
            if isinstance(fault, DidNotReproduce):
                campaign.replayed_clean = True  # the fix worked for this example; not a verdict on the rest
                return campaign
        else:
            finding, fault = _search(test_for, settings, stats, generated)
        campaign.fault = fault
        found = finding.guarantee if finding else None
        campaign.searches.append(_search_stats(generated, generated + stats, frozenset(remaining),
                                               time.monotonic() - started, found))
        if campaign.fault is not None:
            return campaign
        if finding is None:
            campaign.complete = True
            return campaign
        campaign.findings.append(finding)
        remaining.discard(finding.guarantee)
        if first_only or reproduce:
            return campaign
        if finding.waited and remaining:
            campaign.stopped = SILENT
            return campaign
    campaign.complete = True
    return campaign
