"""Observatory automation: work orders driving a dome, a telescope and a calibration pipeline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("observatory")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
