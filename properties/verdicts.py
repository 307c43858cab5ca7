"""Which guarantees a backend's declared capabilities let the suite exercise.

A guarantee is *not applicable* only when the capability its checks need is off, so the
machine never draws the calls that would test it (no exact lists without ``exact_list``,
for instance). Guarantees that constrain every backend stay applicable whatever it
declares: a backend without bookmarks is still checked never to send one (Bookmarkable).
"""

from __future__ import annotations

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.sut.api import Capabilities

# guarantee -> (capabilities of which at least one must be on, ...): every group must hold
_NEEDS: dict[G, tuple[tuple[str, ...], ...]] = {
    G.FilterTransitions: (("label_selectors",),),  # only labels change under a watch's selector
    G.SelectorSemantics: (("label_selectors", "field_selectors"),),
    G.ListExact: (("exact_list",),),
    G.PaginationSnapshot: (("pagination",),),
    G.BookmarkMonotonic: (("bookmarks",),),
    G.ProgressLiveness: (("progress",), ("bookmarks",)),
}


def not_applicable_reason(guarantee: G, capabilities: Capabilities) -> str | None:
    """Why ``guarantee`` cannot be exercised with ``capabilities``, or None if it can."""
    for group in _NEEDS.get(guarantee, ()):
        if not any(getattr(capabilities, name) for name in group):
            return " or ".join(f"capabilities.{name}" for name in group) + " is off"
    return None


def applicable(capabilities: Capabilities) -> frozenset[G]:
    return frozenset(g for g in G if not_applicable_reason(g, capabilities) is None)


def parse_guarantee_names(names: list[str]) -> frozenset[G]:
    """The guarantees named (case-insensitively); ValueError naming the unknown ones."""
    by_name = {g.name.lower(): g for g in G}
    unknown = [n for n in names if n.lower() not in by_name]
    if unknown:
        raise ValueError(f"unknown guarantee {', '.join(map(repr, unknown))}; the guarantees are: "
                         f"{', '.join(g.name for g in G)}")
    return frozenset(by_name[n.lower()] for n in names)
