"""Know a definition's timing before deploying it: static analysis and Monte Carlo runs.

``analysis`` bounds the time from every node to every leaf from the definition alone;
``scenario`` reads what the workers are expected to do; the simulators (``native``
on the Cython loop, ``reference`` in NumPy, ``naive`` in plain Python) run it under
the engine's rules (``rules``); ``results`` summarises the runs. Nothing here needs a
server, a database or the network.
"""
