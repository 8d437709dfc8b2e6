"""``python -m bench.e2e``: see bench/e2e/cli.py and docs/performance.md."""

from __future__ import annotations

import sys

from bench.e2e.cli import main

if __name__ == "__main__":
    sys.exit(main())
