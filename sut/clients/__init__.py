"""Client-side conformance: the adapter contract (``api``), the lockstep adversary (``adversary``),
the reference reflector (``reflector``) and its mutants (``mutants``)."""
