"""The exact counterexample text for one mutant, derandomized and shrunk, so that the
readability of failures cannot regress unnoticed. Regenerate after a deliberate change with
``UPDATE_GOLDEN=1 pytest tests/test_golden.py``."""

import os
from pathlib import Path

from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.sut.api import Capabilities
from listwatch_conformance.sut.mutants import DeleteCarriesOldRV
from listwatch_conformance.properties.profiles import PROFILES
from tests.conftest import first_violation

GOLDEN = Path(__file__).parent / "golden" / "DeleteCarriesOldRV.txt"


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
    text = "\n".join([str(violation), *getattr(violation, "__notes__", [])]) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "the counterexample text changed; if deliberate, UPDATE_GOLDEN=1"
