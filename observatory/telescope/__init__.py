"""The telescope queue's library: observation and calibration-frame sequences.

``rig.py`` bundles the device adapters and keeps the dome slit on the mount,
``fits.py`` writes one exposure as FITS, ``batch.py`` owns a batch folder with its
manifest and SQL rows, ``run.py`` is what every sequence does around its frames (batch,
heartbeat, interruption, the follow-up calibration order), ``observation.py`` and
``calibration.py`` are the two sequences, ``flats.py`` finds a flat's exposure time,
``heartbeat.py`` and ``events.py`` put the worker's life and the devices' actions on
record.
"""
