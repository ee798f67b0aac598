"""Offline catalogues that turn a target's name into coordinates (see :mod:`.names`)."""
