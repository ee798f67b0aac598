"""Local paths and file:// urls."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, urlsplit
from urllib.request import url2pathname


def local_path(url: str, parts: SplitResult) -> Path:
    """The filesystem path a plain path or file:// url names (``parts`` from split_url)."""
    if not urlsplit(url).scheme or (len(url) > 1 and url[1] == ":"):
        return Path(url)  # a plain path: '?' and '#' are part of the name
    return Path(url2pathname(parts.path))
