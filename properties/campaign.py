"""A conformance run to the end: a verdict for every checked guarantee.

Hypothesis stops at the first failure it finds and shrinks it. :func:`run_campaign`
then searches again with every guarantee found broken so far left unchecked (examples
that break one first are inconclusive, see ``conformance_machine``), until a complete
search finds nothing. So each broken guarantee gets its own shrunk counterexample, and a
guarantee counts as passed only after a complete search that checked it found nothing.
With ``first_only`` (pytest ``-x``) the campaign stops at the first finding.

Anything that is not a guarantee violation (a BackendFault, a hang, Hypothesis reporting
a flaky strategy) ends the campaign and is kept as its ``fault``, never as a finding.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import attrs
import hypothesis
from hypothesis import reproduce_failure
from hypothesis.errors import DidNotReproduce, FlakyFailure
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test
from hypothesis.statistics import collector

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation

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


def _search_stats(stats: list[dict], checked: frozenset[G], seconds: float, found: G | None) -> Search:
    phases = stats[-1] if stats else {}
    generated = phases.get("generate-phase", {}).get("test-cases", [])
    shrink = phases.get("shrink-phase", {})
    return Search(
        checked=tuple(sorted(g.name for g in checked)),
        examples=len(generated),
        valid=sum(1 for case in generated if case.get("status") == "valid"),
        shrink_steps=len(shrink.get("test-cases", [])),
        seconds=round(seconds, 3),
        stopped_because=phases.get("stopped-because", "a failure was found" if found else "unknown"),
        found=found.name if found else None,
    )


def run_campaign(machine_for: Callable[[frozenset[G]], type[RuleBasedStateMachine]], checked: frozenset[G],
                 settings, *, first_only: bool = False, reproduce: str | None = None) -> Campaign:
    """Search ``machine_for(guarantees)`` until every guarantee in ``checked`` has a verdict.

    ``reproduce`` (a blob Hypothesis printed) replays that one example instead of searching; if
    it passes now, the campaign says so (``replayed_clean``) and gives no verdict.
    """
    campaign = Campaign(checked)
    remaining = set(checked)
    while remaining:
        test = get_state_machine_test(machine_for(frozenset(remaining)), settings=settings)
        if reproduce:
            test = reproduce_failure(hypothesis.__version__, reproduce.encode())(test)
        stats: list[dict] = []
        started = time.monotonic()
        finding = None
        try:
            with collector.with_value(stats.append):
                test()
        except DidNotReproduce:
            if not reproduce:
                raise
            campaign.replayed_clean = True  # the fix worked for this example; not a verdict on the rest
            return campaign
        except BaseException as exc:  # noqa: BLE001 - sorted below: a verdict, or the campaign's end
            finding = _finding(exc)
            if finding is None:
                campaign.fault = exc
        found = finding.guarantee if finding else None
        campaign.searches.append(_search_stats(stats, frozenset(remaining), time.monotonic() - started, found))
        if campaign.fault is not None:
            return campaign
        if finding is None:
            campaign.complete = True
            return campaign
        campaign.findings.append(finding)
        remaining.discard(finding.guarantee)
        if first_only or reproduce:
            return campaign
    campaign.complete = True
    return campaign
