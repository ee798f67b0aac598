"""An ASCOM Alpaca simulator of the observatory's devices, driven over real HTTP.

Entry points: :func:`observatory.simulator.server.serve` (blocking),
:func:`observatory.simulator.server.start_simulator_process` (a child process for tests)
and ``python -m observatory.simulator``.
"""
