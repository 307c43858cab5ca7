"""The conformance properties: a Hypothesis state machine driving a backend and the model together."""
