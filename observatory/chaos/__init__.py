"""Chaos nights: a seeded schedule of faults through simulated nights, and the ledger
that audits what the stack did with them (``observatory run --nights N --chaos SEED``).

``schedule.py`` draws the faults, ``inject.py`` applies them to a running stack and times
its recovery, ``watch.py`` samples the dome, safety, liveness and memory while the nights
run, ``ledger.py`` audits the database afterwards, and ``nights.py`` runs it all.
"""
