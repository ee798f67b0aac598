"""``python -m observatory.supervisor``: the same as ``observatory supervise``."""

import sys

from observatory.cli.main import main

sys.exit(main(["supervise", *sys.argv[1:]]))
