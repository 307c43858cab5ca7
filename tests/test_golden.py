"""The exact counterexample text for one mutant, derandomized and shrunk, so that the
readability of failures cannot regress unnoticed. Regenerate after a deliberate change with
``UPDATE_GOLDEN=1 pytest tests/test_golden.py``."""

import os
from pathlib import Path

from hypothesis import settings

from sut.api import Capabilities
from sut.mutants import DeleteCarriesOldRV
from tests.conftest import first_violation

GOLDEN = Path(__file__).parent / "golden" / "DeleteCarriesOldRV.txt"


# Selectors only: without bookmarks, progress or bursts in play the search and the shrink are
# deterministic, so the text is too.
CAPABILITIES = Capabilities(label_selectors=True, field_selectors=True, history=4)


def test_counterexample_text_is_pinned():
    violation = first_violation(DeleteCarriesOldRV, CAPABILITIES, settings.get_profile("ci"))
    assert violation is not None
    text = "\n".join([str(violation), *getattr(violation, "__notes__", [])]) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "the counterexample text changed; if deliberate, UPDATE_GOLDEN=1"
