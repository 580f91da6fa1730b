"""The parts of the benchmark that run.py (beside this package) puts together; see README.md there."""
