"""Summary statistics of a calibration product, returned alongside it."""

from dataclasses import dataclass

import numpy as np

from observatory.calibration.selection import median_and_mad, moments

# MAD of a normal distribution times this is its standard deviation.
MAD_TO_STD = 1.482602218505602


@dataclass(frozen=True)
class FrameStatistics:
    """Pixel statistics of one product, over its finite pixels (values in its unit).

    ``robust_std_adu`` is 1.4826 x the median absolute deviation from the median.
    ``frame_count`` is how many frames were combined (1 for a single calibrated frame);
    ``nonfinite_pixels`` counts pixels left out (NaN where no value survived).
    """

    mean: float
    median: float
    std: float
    robust_std: float
    minimum: float
    maximum: float
    frame_count: int
    nonfinite_pixels: int

    def header_cards(self) -> list[tuple[str, float | int, str]]:
        """(keyword, value, comment) cards recording these statistics in a FITS header."""
        return [
            ("STATMEAN", self.mean, "mean of finite pixels"),
            ("STATMED", self.median, "median of finite pixels"),
            ("STATSTD", self.std, "standard deviation of finite pixels"),
            ("STATRSTD", self.robust_std, "1.4826 * median absolute deviation"),
            ("STATMIN", self.minimum, "minimum finite pixel"),
            ("STATMAX", self.maximum, "maximum finite pixel"),
            ("NONFINIT", self.nonfinite_pixels, "pixels that are NaN or infinite"),
        ]


def frame_statistics(data: np.ndarray, frame_count: int) -> FrameStatistics:
    """Statistics of ``data`` (any shape) computed in float64 over its finite pixels, in
    a few passes over the frame as it is (see :mod:`observatory.calibration.selection`;
    the medians are those of ``np.median``, bit for bit).

    Raises ValueError when no pixel is finite.
    """
    summary = moments(data)
    median, mad = median_and_mad(data, summary)
    return FrameStatistics(
        mean=summary.mean,
        median=median,
        std=summary.std,
        robust_std=mad * MAD_TO_STD,
        minimum=summary.minimum,
        maximum=summary.maximum,
        frame_count=frame_count,
        nonfinite_pixels=summary.nonfinite,
    )
