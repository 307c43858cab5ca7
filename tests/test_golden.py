"""The exact counterexample text for one mutant, derandomized and shrunk, so that the
readability of failures cannot regress unnoticed, and the README's "Reading a failure"
excerpt is that same text. Regenerate after a deliberate change with
``UPDATE_GOLDEN=1 pytest tests/test_golden.py`` (it rewrites the golden file; copy it into the
README by hand). The text is the suite's own rendering (``program_text``), so it does not
depend on how a Hypothesis version words its report."""

import os
import re
from pathlib import Path

from listwatch_conformance.properties.campaign import program_lines, program_text
from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.sut.api import Capabilities
from listwatch_conformance.sut.mutants import DeleteCarriesOldRV
from listwatch_conformance.properties.profiles import PROFILES
from tests.conftest import first_violation

GOLDEN = Path(__file__).parent / "golden" / "DeleteCarriesOldRV.txt"
README = Path(__file__).resolve().parent.parent / "README.md"


# Selectors only, and no bursts: without bookmarks, progress or concurrent writes in play (which
# write of a burst gets the lower RV varies from run to run) the search and the shrink are
# deterministic, so the text is too.
CAPABILITIES = Capabilities(label_selectors=True, field_selectors=True, history=4)


class WithoutBursts(conformance_machine(DeleteCarriesOldRV, CAPABILITIES)):
    burst = None  # hides the rule


WithoutBursts.__name__ = "ListWatchConformance"  # the name the program prints, as in a user's run


def test_counterexample_text_is_pinned():
    violation = first_violation(DeleteCarriesOldRV, CAPABILITIES, PROFILES["ci"], WithoutBursts)
    assert violation is not None
    text = program_text(violation, program_lines(getattr(violation, "__notes__", [])))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "the counterexample text changed; if deliberate, UPDATE_GOLDEN=1"


def test_readme_shows_the_golden_text():
    """The README's "Reading a failure" excerpt is the pinned text, so it cannot drift from what users see."""
    section = README.read_text().split("## Reading a failure", 1)[1]
    excerpt = re.search(r"```\n(.*?)```", section, re.S)
    assert excerpt is not None, "README.md: no code block under '## Reading a failure'"
    assert excerpt.group(1) == GOLDEN.read_text(), (
        "README.md's 'Reading a failure' excerpt differs from tests/golden/DeleteCarriesOldRV.txt; copy the golden text")
