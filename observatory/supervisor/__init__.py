"""The safety supervisor: a process of its own that keeps the dome closed unless it is
known to be safe, and publishes whether the dome may be opened.

- :mod:`~observatory.supervisor.decision`: the rules, a pure function of readings and time;
- :mod:`~observatory.supervisor.loop`: :class:`Supervisor`, which reads the devices and
  SQL, decides, and closes the dome / parks the mount;
- :mod:`~observatory.supervisor.permit`: :func:`opening_allowed`, what every code path
  that opens the dome calls first;
- :mod:`~observatory.supervisor.events`: the ``device_events`` rows it writes;
- :mod:`~observatory.supervisor.once`: one look (``observatory supervise --once``), which
  leaves a live supervisor's permit and events alone.

Run it with ``observatory supervise`` or ``python -m observatory.supervisor``.
"""

from observatory.supervisor.permit import opening_allowed, require_opening_allowed

__all__ = ["opening_allowed", "require_opening_allowed"]
