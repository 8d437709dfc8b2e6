"""Finding a worker by import path, ``package.module:object``, for ``relentless worker``."""

from __future__ import annotations

import importlib
import inspect
import os
import sys

from relentless.worker.settings import WorkerConfigError
from relentless.worker.worker import Worker


def load_worker(target: str) -> Worker:
    """The Worker at ``module:object`` (an attribute path), or made by calling it.

    The current directory is importable, as for ``python -m``, so that a project's
    own modules are found when the command runs from its root.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise WorkerConfigError(f"{target!r} is not MODULE:OBJECT, e.g. "
                                f"relentless.examples.payment_worker:worker")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise WorkerConfigError(f"cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise WorkerConfigError(f"{module_name!r} has no {attribute!r}") from None
    if not isinstance(found, Worker) and inspect.isfunction(found):
        try:
            inspect.signature(found).bind()
        except TypeError:
            raise WorkerConfigError(f"{target} needs arguments; name a Worker, or a "
                                    f"function that makes one from none") from None
        found = found()
    if not isinstance(found, Worker):
        raise WorkerConfigError(f"{target} is a {type(found).__name__}, not a "
                                f"relentless.worker.Worker (or a function returning one)")
    return found
