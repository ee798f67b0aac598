"""Sigma-clipping parameters for combining frames."""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SigmaClip:
    """How ``combine_frames(method="sigma_clip")`` rejects outliers before averaging.

    Per pixel, over the frames: the centre is the mean (ccdproc.combine's default) or
    the median of the values kept so far, the scale is their population standard
    deviation (ddof=0, about their mean). Values with
    ``centre - sigma_low * std <= v <= centre + sigma_high * std`` are kept. Rounds
    repeat until a round rejects nothing (or everything), or ``max_iterations`` rounds
    were made; ``None`` means until converged. As in astropy's ``sigma_clip``, the mean
    is then taken over every finite value inside the last round's bounds.
    ``SigmaClip()`` reproduces ``ccdproc.combine(..., sigma_clip=True)``: one round,
    centre mean, 3 sigma both ways.
    """

    sigma_low: float = 3.0
    sigma_high: float = 3.0
    max_iterations: int | None = 1
    centre: Literal["mean", "median"] = "mean"

    def __post_init__(self) -> None:
        if not (self.sigma_low > 0 and self.sigma_high > 0):
            raise ValueError(
                f"sigma_low and sigma_high must be > 0, got {self.sigma_low}, {self.sigma_high}"
            )
        if self.max_iterations is not None and self.max_iterations < 1:
            raise ValueError(f"max_iterations must be >= 1 or None, got {self.max_iterations}")
        if self.centre not in ("mean", "median"):
            raise ValueError(f"centre must be 'mean' or 'median', got {self.centre!r}")
