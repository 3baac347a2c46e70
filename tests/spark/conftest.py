"""The Spark harness runs only where the [spark] extra is installed (`make test-spark`).

The default suite (`make test`, the lean .venv without pyspark) does not
collect these files at all; `make test-spark` runs them in .venv-spark.
"""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("pyspark") else ["test_*.py"]
