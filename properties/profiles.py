"""The suite's Hypothesis profiles, kept apart from the user's own.

  dev       quick local runs (the default without CI)
  ci        derandomized, no example database, more examples (the default when CI is set)
  thorough  many examples and long programs, for a deep search before a release

A conformance run uses the profile that ``--hypothesis-profile NAME`` (or Hypothesis's own
CI detection) made current: ours when the name is one of the three above, the user's own
profile as it is otherwise, and ``ci`` or ``dev`` when none was chosen. Nothing here loads a
profile globally: the plugin is loaded into every pytest session of a project that installs
the package, and must not change how that project's own Hypothesis tests run. Hypothesis
ships a ``ci`` profile of its own; ours is not registered over it, only ``dev`` and
``thorough`` are registered, so that ``--hypothesis-profile`` accepts them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import InvalidArgument

# The explain phase is left out: it lists the suite's own source lines, which is noise to users.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
_COMMON = dict(deadline=None, report_multiple_bugs=False, phases=_PHASES, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

PROFILES: dict[str, settings] = {
    "dev": settings(max_examples=40, stateful_step_count=40, **_COMMON),
    "ci": settings(max_examples=150, stateful_step_count=50, derandomize=True, database=None, **_COMMON),
    "thorough": settings(max_examples=1500, stateful_step_count=100, **_COMMON),
}


def register_profiles() -> None:
    """Make ``--hypothesis-profile dev`` and ``thorough`` loadable, unless the user's own exist."""
    for name in ("dev", "thorough"):
        try:
            settings.get_profile(name)
        except InvalidArgument:
            settings.register_profile(name, PROFILES[name])


def profile_name() -> str:
    """The name of the profile a conformance run uses now (see the module docstring)."""
    current = settings.get_current_profile_name()
    if current == "default":
        return "ci" if os.environ.get("CI") else "dev"
    return current


def conformance_settings() -> settings:
    """The settings of :func:`profile_name`: ours for dev, ci and thorough, the user's own otherwise."""
    name = profile_name()
    return PROFILES.get(name) or settings()
