"""The web-stack ceiling ``bench/peers.py`` measures erpflow against: a trivial Django site.

One view takes the body erpflow's REST trigger takes, adds ``"seen": true`` to its payload and answers
it as JSON: the same flow shape with nothing persisted, no authentication and the middleware a
trivial Django view would have. Served by the same gunicorn command line, the gap between the two is
what erpflow itself costs on this machine. A folder, not a ``bench/*.py`` module, so ``make bench``
does not run it as a benchmark.
"""
