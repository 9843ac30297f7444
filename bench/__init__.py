"""`make bench`: scrape side by side with the tools it replaces, on data built here.

Not tests: nothing here asserts. ``python -m bench.run`` builds a source storage with the real
registry and skopeo, times scrape and its baselines on the same data in one run, and prints
one table of ratios against the performance targets (see BENCHMARKS.md).
"""

import sys
from pathlib import Path

# The bench starts the s3 plugin's own emulators (plugins/s3/tests/s3_servers.py) outside
# pytest, so it puts that folder on the path as pyproject's pythonpath does for the tests.
_S3_TEST_HELPERS = str(Path(__file__).resolve().parents[1] / "plugins" / "s3" / "tests")
if _S3_TEST_HELPERS not in sys.path:
    sys.path.append(_S3_TEST_HELPERS)
