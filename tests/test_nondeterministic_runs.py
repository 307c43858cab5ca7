"""A system under test whose behaviour does not follow from the program gets a harness verdict.

When Hypothesis runs the same program again and other rules are possible at some step (a client
whose requests depend on a timer, or on whether it met the wait budget on a loaded machine),
Hypothesis raises FlakyStrategyDefinition. The campaign reports that as a one-paragraph fault that
names the cause, never as a guarantee and never as a bare traceback.
"""

import itertools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.properties.campaign import run_campaign
from listwatch_conformance.properties.harness import BackendFault

EXAMPLES = itertools.count()


class AlternatingSystem(RuleBasedStateMachine):
    """Every other example, a rule is possible that was not the time before: as if the system under
    test made a request on one run and not on the next."""

    def __init__(self) -> None:
        super().__init__()
        self.requested = next(EXAMPLES) % 2 == 1

    @precondition(lambda self: self.requested)
    @rule(answer=st.integers(0, 3))
    def respond(self, answer):
        pass

    @rule(value=st.booleans())
    def write(self, value):
        pass


def test_a_nondeterministic_system_is_a_harness_fault_not_a_guarantee():
    campaign = run_campaign(lambda checked: AlternatingSystem, frozenset({G.Reliable}),
                            settings(max_examples=50, derandomize=True, database=None, deadline=None))
    assert not campaign.findings
    assert isinstance(campaign.fault, BackendFault), campaign.fault
    message = str(campaign.fault)
    assert message.startswith("BackendFault (not a guarantee violation): the system under test behaved differently")
    assert "--wait-budget" in message and "FlakyStrategyDefinition" in message
