"""Every configuration file checked before the stack starts anything.

The settings themselves are validated when they are read (:func:`observatory.settings.
load_settings`); this adds the files they name: the routine plan (read by beat), the
simulator's device file (read by the simulator) and the instrument profiles under
``config/instruments/`` when that folder exists. A child that met a bad file would only
crash-loop; refusing here gives one clear line and starts nothing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from observatory.errors import ConfigurationError
from observatory.routine.plan import load_plan
from observatory.settings import PROJECT_ROOT, Settings
from observatory.simulator.config import load_config
from observatory.simulator.observatory import Observatory

INSTRUMENTS_DIR = PROJECT_ROOT / "config" / "instruments"


def check_configuration(settings: Settings, *, with_beat: bool = True) -> None:
    """Validate every file the stack of ``settings`` would read. Raises ConfigurationError
    (RoutinePlanInvalid among them) naming the file and the key; reads only, starts
    nothing."""
    if with_beat:
        load_plan(settings.routine_plan)
    if settings.simulator.enabled:
        path = settings.simulator.config
        config = load_config(path)
        try:
            # Building the simulated devices validates each device section too.
            Observatory(config)
        except ConfigurationError as error:
            raise ConfigurationError(f"{path}: {error}") from error
    check_instrument_files(INSTRUMENTS_DIR)


def check_instrument_files(folder: Path) -> None:
    """Each ``*.toml`` under ``folder`` must at least parse; the profiles' own loader, where
    the project has one, validates their fields when it reads them."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.toml")):
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigurationError(f"{path}: {error}") from error
