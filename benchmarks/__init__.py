"""Speed, memory and convergence benchmarks (not part of the test suite). See run.py."""
