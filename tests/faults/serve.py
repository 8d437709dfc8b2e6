"""`relentless serve`, with the waker's fallback poll taken from the environment.

``RELENTLESS_FAULT_POLL_SECONDS`` pushes the poll out of reach, so that a long-poll can
only be woken by a NOTIFY (what tests/service/test_nodes.py does in-process).
"""

from __future__ import annotations

import os
import sys

from relentless.cli import main
from relentless.service import waker

if __name__ == "__main__":
    if "RELENTLESS_FAULT_POLL_SECONDS" in os.environ:
        waker.POLL_SECONDS = float(os.environ["RELENTLESS_FAULT_POLL_SECONDS"])
    sys.exit(main(sys.argv[1:]))
