"""Moving file batches and products between hosts, safely.

:func:`check_url` is the policy (schemes, credentials, addresses); :func:`fetch_batch`
verifies or downloads a batch against its manifest; :func:`fetch_file` fetches one file.
Archives are refused: batches travel as folders with a manifest.
"""

from observatory.transfer.batch import FetchedBatch, fetch_batch
from observatory.transfer.policy import check_url
from observatory.transfer.single import fetch_file

__all__ = ["FetchedBatch", "check_url", "fetch_batch", "fetch_file"]
