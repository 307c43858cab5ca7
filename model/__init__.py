"""The executable specification of list-watch semantics.

Pure Python (attrs only): it imports neither hypothesis nor the backends. It learns RVs
from the writes the harness reports and derives from them what every watch and list
must deliver; violations are raised as :class:`listwatch_conformance.model.guarantees.Violation`.
"""
