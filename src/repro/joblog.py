"""Logging set-up for workflow jobs: everything a script says goes to its rule's `log:` file."""
from __future__ import annotations

import logging
import sys


def log_to(path: str) -> None:
    """Send stderr and the `logging` root logger (INFO and up) to `path` (opened for append)."""
    stream = open(path, "a", buffering=1)
    sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
