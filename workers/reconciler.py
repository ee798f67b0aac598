"""The reconciler process: publishes stored orders whose message never reached the broker,
or which the broker lost, and resumes processor orders whose chain fell silent
(:mod:`observatory.orders.stalls`), and tells the admins when a data folder's free space
falls below ``min_free_mib`` (:class:`observatory.storage.FreeSpaceWatch`), and prunes the
safety supervisor's old events once an hour (:mod:`observatory.orders.retention`).

Run by ``observatory up``; in production run one per site (``python -m workers.reconciler``).
"""

from __future__ import annotations

import argparse
import logging
import time
from functools import partial

from observatory.db.retry import retry_unavailable
from observatory.intake import reconcile
from observatory.logs import configure_logging
from observatory.notify import email_admins
from observatory.orders.retention import EventPruner
from observatory.orders.stalls import recover
from observatory.settings import get_settings
from observatory.storage import FreeSpaceWatch
from workers.publish import app_of, publisher_for, resumer

log = logging.getLogger("observatory.reconciler")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between passes")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    publish, resume = publisher_for(settings), resumer(app_of(settings))
    free_space = FreeSpaceWatch(settings, partial(email_admins, settings))
    pruner = EventPruner(settings)
    while True:
        # Through a database outage, tried again (then the process fails, and is restarted).
        published = retry_unavailable("reconciling", partial(reconcile, settings, publish))
        if published:
            log.info("republished work orders %s", published)
        retry_unavailable("recovering lost messages", partial(recover, settings, publish, resume))
        free_space.poll()
        retry_unavailable("pruning supervisor events", pruner.poll)
        if args.once:
            return
        time.sleep(args.every)


if __name__ == "__main__":
    main()
