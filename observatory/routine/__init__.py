"""Routine imaging: a plan of entries (cron or Sun-relative times) that Celery beat turns
into work orders (:mod:`workers.beat`).

:mod:`plan` reads and validates the plan, :mod:`sun` finds the Sun's crossings at the
site, :mod:`schedule` computes an entry's run times, :mod:`runs` turns one run into a
stored work order.
"""
