"""Plate solving: where a frame looks on the sky.

``sources`` finds the stars of a frame (``sep``); ``hints`` says where the mount pointed
and the plate scale; ``engine`` solves in process with astrometry.net's engine (the
``astrometry`` package, index files loaded once per process); ``wcsfit`` cross-matches
the catalogue stars with the sources and refits the WCS on all of them; ``solvefield``
runs astrometry.net's ``solve-field`` in a subprocess, the fallback; ``frame`` tries the
engine first and falls back, and is what the processor and ``observatory solve`` call.
"""
