"""The worker of the payment example (payment.yaml in this directory).

From the repository root, with a server running (``relentless serve``)::

    relentless worker examples.payment_worker:worker --url http://127.0.0.1:8080 --token TOKEN

The handlers live in the package, ``relentless.examples.payment_worker``, so that
``relentless demo`` runs the same code from an installed wheel; read them there.
"""

from __future__ import annotations

from relentless.examples.payment_worker import worker

__all__ = ["worker"]
