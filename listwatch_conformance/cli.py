"""``listwatch-conformance [pytest arguments]``: run the conformance properties from any directory.

The same as ``pytest --pyargs listwatch_conformance.properties [arguments]``: every pytest
and suite option passes through (``--sut``, ``--hypothesis-profile``, ``--guarantee``,
``--conformance-report``, ``--reproduce``, ``--kube-*``, ``--etcd-*``, ``-n``). The exit
status is pytest's (0 conforming, 1 a guarantee broken or a backend fault, 4 a usage error).
"""

from __future__ import annotations

import sys

import pytest

PROPERTIES = "listwatch_conformance.properties"
_ALREADY_IMPORTED = ("ignore:Module already imported so cannot be rewritten; listwatch_conformance"
                     ":pytest.PytestAssertRewriteWarning")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # -p names the plugin even where entry points are not loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD);
    # pytest skips it where the entry point registered it already. This script imported the
    # package before pytest started, so pytest warns that it cannot rewrite its asserts: noise
    # to the user (the suite's checks raise their own errors), silenced by name.
    return int(pytest.main(["-p", "listwatch_conformance.plugin", "-W", _ALREADY_IMPORTED, "--pyargs", PROPERTIES,
                            *args]))


if __name__ == "__main__":
    sys.exit(main())
