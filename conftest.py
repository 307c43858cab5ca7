"""The checkout's conftest: nothing of its own.

The suite's pytest plugin is :mod:`listwatch_conformance.plugin`, registered by the installed
package's ``pytest11`` entry point under that same module name. Naming it here again registers
it only where entry points are not loaded (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``); pytest skips
a plugin name that is already registered, so nothing is registered twice.
"""

pytest_plugins = ["listwatch_conformance.plugin"]
