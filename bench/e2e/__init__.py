"""End-to-end benchmarks: Relentless over HTTP with worker processes, against its peers.

``python -m bench.e2e [--compare] [--sweep] [--json] [--plot FILE.png]``; the method
and the figures are in docs/performance.md.
"""
