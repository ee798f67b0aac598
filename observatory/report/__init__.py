"""The night report: one HTML page with pictures of the night's master and calibrated
frames (with their RA/Dec grid), the dome and device timeline, the work orders and step
runs, and every failure with its message.

Entry point: :func:`build_report` (``observatory report [NIGHT]`` on the command line).
"""

from observatory.report.build import ReportWritten, build_report, write_report

__all__ = ["ReportWritten", "build_report", "write_report"]
