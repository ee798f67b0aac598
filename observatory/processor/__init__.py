"""The processor: file batches calibrated step by step.

``driver`` declares the steps (``transfer``, ``ingest``, ``bias``, ``dark``,
``flat_dark``, ``flat``, ``light``, ``astrometry``) and decides, as a pure function of an
order's recorded state, what comes next; ``chain`` acts on its answers; ``pipeline``
runs and gathers units; ``plan`` splits a step into independent units; ``ingest``,
``stacks``, ``lights`` and ``astrometry`` do the work of each; ``library`` chooses
masters; ``products`` stores and finds them on any host. Nothing here imports Celery:
``tasks/processor.py`` runs fanned-out units as tasks.
"""

from observatory.processor.driver import PREREQUISITES, STEPS, decide, end_state, steps_to_run
from observatory.processor.ingest import ingest_batch
from observatory.processor.locate import LocatedBatch, batch_name_from_url, locate_batch
from observatory.processor.pipeline import (
    gather,
    run_unit,
    transfer_batch,
    unit_outcome,
    units_of,
)

__all__ = [
    "PREREQUISITES",
    "STEPS",
    "LocatedBatch",
    "batch_name_from_url",
    "decide",
    "end_state",
    "gather",
    "ingest_batch",
    "locate_batch",
    "run_unit",
    "steps_to_run",
    "transfer_batch",
    "unit_outcome",
    "units_of",
]
