"""Relentless's executable specification: a reference model and its checker.

``spec.model`` is the library surface; ``python -m spec.check`` explores it.
Nothing here imports ``relentless``: the spec stands on its own.
"""
