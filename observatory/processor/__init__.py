"""The processor: file batches calibrated step by step.

``pipeline`` declares the steps (``transfer``, ``ingest``, ``bias``, ``dark``,
``flat_dark``, ``flat``, ``light``, ``astrometry``) and their bookkeeping; ``plan``
splits a step into independent units; ``ingest``, ``stacks``, ``lights`` and
``astrometry`` do the work of each; ``library`` chooses masters; ``products`` stores
and finds them on any host. Nothing here imports Celery: ``tasks/processor.py`` runs
units as tasks and chains the steps.
"""

from observatory.processor.ingest import ingest_batch
from observatory.processor.locate import LocatedBatch, batch_name_from_url, locate_batch
from observatory.processor.pipeline import (
    PREREQUISITES,
    STEPS,
    end_state,
    gather,
    resume_point,
    run_unit,
    stop_on_failure,
    transfer_batch,
    unit_outcome,
    units_of,
)

__all__ = [
    "PREREQUISITES",
    "STEPS",
    "LocatedBatch",
    "batch_name_from_url",
    "end_state",
    "gather",
    "ingest_batch",
    "locate_batch",
    "resume_point",
    "run_unit",
    "stop_on_failure",
    "transfer_batch",
    "unit_outcome",
    "units_of",
]
