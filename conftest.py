"""The checkout's conftest: nothing of its own.

The suite's pytest plugin is :mod:`listwatch_conformance.plugin`, registered by the installed
package's ``pytest11`` entry point under that same module name. Naming it here again registers
it only where entry points are not loaded (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``); pytest skips
a plugin name that is already registered, so nothing is registered twice.

With an editable install, a user's project that runs the suite (``pytest --pyargs
listwatch_conformance.properties``) loads this file too, as the conftest of a folder above the
suite's tests; pytest then puts this checkout first on ``sys.path`` to import it. That would
make the checkout's ``model/``, ``sut/`` and ``properties/`` importable under those bare names,
ahead of the user's own packages of the same names, so :func:`pytest_configure` takes it off
again there. Nothing needs it: the suite is imported as ``listwatch_conformance``.
"""

import sys
from pathlib import Path

pytest_plugins = ["listwatch_conformance.plugin"]

CHECKOUT = Path(__file__).resolve().parent


def pytest_configure(config):
    if config.rootpath.resolve() != CHECKOUT and str(CHECKOUT) in sys.path:
        sys.path.remove(str(CHECKOUT))  # the first entry: pytest's, not one the user put later
