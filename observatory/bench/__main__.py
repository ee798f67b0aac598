"""``python -m observatory.bench``: the calibration benchmark."""

from observatory.bench.calibration import main

raise SystemExit(main())
