"""An ASCOM Alpaca simulator of the observatory's devices, driven over real HTTP.

Entry points: :func:`observatory.simulator.server.serve` (blocking),
:func:`observatory.simulator.server.start_simulator_process` (a child process for tests)
and ``python -m observatory.simulator --host H --port P [--config F] [--time-scale X]
[--discovery-port N]``. Settings: ``config/simulator.toml`` (see
:mod:`observatory.simulator.config`).

Layout: :mod:`protocol` parses requests and builds envelopes, :mod:`app` is the HTTP
boundary, :mod:`members` is the spec's member table, ``devices/`` hold the mechanisms
(``devices/base.py`` explains how to add one), :mod:`clock` and :mod:`motion` give them
simulated time, :mod:`observatory` assembles them, :mod:`discovery` answers UDP.

Actions every device supports (tests use them; nothing of this goes into image data):

* ``simulator:state`` -- the device's true internal state as a JSON object;
* ``simulator:fault`` -- inject a fault, JSON parameter (see :mod:`faults`; per device:
  dome ``stuck_shutter``, filter wheel ``stuck_wheel``, flat panel ``stuck_cover`` and
  ``lamp_failure``); returns the active faults;
* ``simulator:faults`` -- the active faults as JSON;
* ``simulator:set_safe`` (safety monitor) -- ``"true"`` or ``"false"``.
"""
