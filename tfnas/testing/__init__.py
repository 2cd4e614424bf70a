"""Contract cases and helpers reused by the test suite: every oracle obeys the limits, the cost zoo, the notebooks."""
