"""What astronomers look at in a calibrated frame: ``stars`` (FWHM, ellipticity,
saturation, from the plate solver's own ``sep`` sources), ``photometry`` (zero point and
limiting magnitude against the catalogue stars the solution matched), ``airmass``, and
``assess`` (the figures of one frame, and the flags the settings' thresholds raise).
"""
