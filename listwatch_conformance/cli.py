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


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # -p names the plugin even where entry points are not loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD);
    # pytest skips it where the entry point registered it already.
    return int(pytest.main(["-p", "listwatch_conformance.plugin", "--pyargs", PROPERTIES, *args]))


if __name__ == "__main__":
    sys.exit(main())
