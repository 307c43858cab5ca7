"""The filter-transition table: which event, if any, a write produces on a filtered watch.

With ``p`` the object before the write and ``n`` after it (None for a delete), seen through
filter F (as the apiserver's ``cacheWatcher.convertToWatchEvent`` does):

=====  =====  ======================================
F(p)   F(n)   event
=====  =====  ======================================
no     no     nothing
no     yes    ADDED(n)
yes    yes    MODIFIED(n)
yes    no     DELETED(p with rv = the write's RV)
=====  =====  ======================================
"""

from __future__ import annotations

from listwatch_conformance.model.history import Write
from listwatch_conformance.model.objects import ADDED, DELETED, MODIFIED, Ev
from listwatch_conformance.model.selectors import Filter


def event_for(write: Write, flt: Filter) -> Ev | None:
    """The event ``write`` produces on a watch with filter ``flt``, or None."""
    was, now = flt.matches(write.prev), flt.matches(write.new)
    if now:
        return Ev(MODIFIED if was else ADDED, write.rv, write.new)
    if was:
        return Ev(DELETED, write.rv, write.prev.with_rv(write.rv))
    return None
