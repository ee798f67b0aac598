"""The simulated sky and optics behind the simulator's mount and camera.

Plain classes and functions, independent of HTTP and of the device framework:
``projection`` (gnomonic pixel <-> sky), ``catalogue`` (Tycho-2 stars from astrometry.net
index files), ``photometry`` (per-filter zero points and sky brightness), ``sensor``
(bias, dark current, hot pixels), ``flat`` (vignetting, dust, pixel response),
``stars`` (PSF stamps), ``cosmics``, ``readout`` (noise, binning, ADC), ``frame`` (one
exposure from all of these), ``imagebytes`` (the Alpaca wire forms of an image),
``sidereal`` and ``kinematics`` (mount coordinates and axis motion).

Image arrays are indexed ``[x, y]`` (ASCOM order: the y index varies fastest in memory);
transpose them for FITS, which stores ``[y, x]``.
"""
