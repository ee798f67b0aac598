"""``python -m observatory.fileserver --host H --port P --batches-dir D --products-dir D``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from observatory.fileserver.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="read-only HTTP server of batches and products")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8021, help="0 picks a free port")
    parser.add_argument("--batches-dir", type=Path, required=True)
    parser.add_argument("--products-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    serve(args.host, args.port, args.batches_dir, args.products_dir)


if __name__ == "__main__":
    main()
