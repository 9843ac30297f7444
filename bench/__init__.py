"""`make bench`: scrape side by side with the tools it replaces, on data built here.

Not tests: nothing here asserts. ``python -m bench.run`` builds a source storage with the real
registry and skopeo, times scrape and its baselines on the same data in one run, and prints
one table of ratios against the performance targets (see BENCHMARKS.md).
"""
