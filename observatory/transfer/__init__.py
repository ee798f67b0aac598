"""Moving file batches and products between hosts, safely.

:func:`check_url` is the policy (schemes, credentials, addresses); :func:`check_batch_url`
the rule for a batch url on its face, shared by intake and the transfer; :func:`fetch_batch`
makes a batch readable here: a local folder verified in place (against its manifest, or one
computed for a folder as capture programs leave it), an archive (zip, tar, tar.gz) extracted
safely into the repository, or a remote folder downloaded against its manifest;
:func:`fetch_file` fetches one file.
"""

from observatory.transfer.batch import FetchedBatch, fetch_batch
from observatory.transfer.batch_url import BatchUrl, check_batch_name, check_batch_url
from observatory.transfer.policy import check_url
from observatory.transfer.single import fetch_file

__all__ = [
    "BatchUrl",
    "FetchedBatch",
    "check_batch_name",
    "check_batch_url",
    "check_url",
    "fetch_batch",
    "fetch_file",
]
