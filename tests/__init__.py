"""vastjob's tests: one module per part of the package, with what they share in `tests.support`."""
