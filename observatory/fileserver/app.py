"""The ASGI application: routes, and the one function that maps a request path to a file
without ever leaving its root."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

MANIFEST_NAME = "manifest.json"
# Files still being written (ours and the transfer's) are never served.
UNFINISHED_SUFFIXES = (".part", ".tmp")


def create_app(batches_dir: Path, products_dir: Path) -> Starlette:
    """Serve ``GET``/``HEAD`` of batch files, batch manifests and products, read-only.

    Anything that is not a regular file under its root after resolving symlinks (missing,
    a folder, a dot-file, a ``.part`` or ``.tmp``, ``..`` in any spelling) answers 404.
    """

    async def batch(request: Request) -> Response:
        components = str(request.path_params["rest"]).split("/")
        if len(components) == 2 and components[1] == "":
            components = components[:1]
        if len(components) == 1:
            components.append(MANIFEST_NAME)  # /batches/<name>/ lists the batch
        if len(components) != 2:
            return _not_found()
        return _file_response(batches_dir, components)

    async def product(request: Request) -> Response:
        return _file_response(products_dir, str(request.path_params["rest"]).split("/"))

    return Starlette(
        routes=[
            Route("/batches/{rest:path}", batch, methods=["GET", "HEAD"]),
            Route("/products/{rest:path}", product, methods=["GET", "HEAD"]),
        ]
    )


def resolve_under(root: Path, components: list[str]) -> tuple[Path, os.stat_result] | None:
    """The regular file that ``components`` name under ``root``, or None.

    Refuses empty, ``.``/``..`` and dot-prefixed components, NUL and backslashes, names of
    unfinished files, then resolves symlinks and refuses a result outside ``root``.
    """
    for component in components:
        if not component or component.startswith(".") or "\x00" in component or "\\" in component:
            return None
    if components[-1].endswith(UNFINISHED_SUFFIXES):
        return None
    real_root = root.resolve()
    try:
        path = real_root.joinpath(*components).resolve(strict=True)
        status = path.stat()
    except (OSError, RuntimeError):  # missing, a symlink loop, a name too long
        return None
    if not path.is_relative_to(real_root) or not stat.S_ISREG(status.st_mode):
        return None
    return path, status


def _file_response(root: Path, components: list[str]) -> Response:
    found = resolve_under(root, components)
    if found is None:
        return _not_found()
    path, status = found
    media_type = "application/json" if path.name == MANIFEST_NAME else None
    return FileResponse(path, stat_result=status, media_type=media_type)


def _not_found() -> Response:
    return PlainTextResponse("not found\n", status_code=404)
