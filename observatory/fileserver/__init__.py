"""The read-only HTTP file server through which other hosts fetch this host's batches
(``/batches/<name>/<file>``, ``/batches/<name>/`` = the manifest) and products
(``/products/<relative path>``), with Range requests for resumed downloads."""

from observatory.fileserver.app import create_app
from observatory.fileserver.server import FileServerProcess, serve, start_file_server_process

__all__ = ["FileServerProcess", "create_app", "serve", "start_file_server_process"]
