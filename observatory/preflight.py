"""Every configuration file checked before the stack starts anything.

The settings themselves are validated when they are read (:func:`observatory.settings.
load_settings`); this adds the files they name: the routine plan (read by beat), the
simulator's device file (read by the simulator, whose site must be the settings'), the
instrument profiles of ``processor.instruments_dir``, validated as the processor loads
them, and the default exposure plan against the filter wheel (or its absence). A child
that met a bad file would only crash-loop; refusing here gives one clear line and starts
nothing.
"""

from __future__ import annotations

from observatory.errors import ConfigurationError, WorkOrderInvalid
from observatory.orders.receipt import check_filter_named
from observatory.processor.profiles import load_profiles
from observatory.routine.plan import load_plan
from observatory.settings import Settings
from observatory.simulator.config import load_config
from observatory.simulator.observatory import Observatory
from observatory.telescope.site import SiteMismatch, site_difference


def check_configuration(settings: Settings, *, with_beat: bool = True) -> None:
    """Validate every file the stack of ``settings`` would read. Raises ConfigurationError
    (RoutinePlanInvalid among them) naming the file and the key; reads only, starts
    nothing."""
    check_default_plan(settings)
    if with_beat:
        load_plan(settings.routine_plan, settings)
    if settings.simulator.enabled:
        path = settings.simulator.config
        config = load_config(path)
        try:
            # Building the simulated devices validates each device section too.
            Observatory(config)
        except ConfigurationError as error:
            raise ConfigurationError(f"{path}: {error}") from error
        # Its mount reports this site: another than the settings' would fail every
        # observation (observatory.telescope.site).
        where = f"the simulator's [site] in {path}"
        site = config.site
        problem = site_difference(where, site.latitude_deg, site.longitude_deg, settings.site)
        if problem is not None:
            raise SiteMismatch(problem)
    load_profiles(settings.processor.instruments_dir)


def check_default_plan(settings: Settings) -> None:
    """Each ``telescope.default_exposures`` entry names a filter exactly when the site
    has a filter wheel (and one the wheel holds, when ``telescope.filters`` lists them):
    otherwise every observation that gives no exposures is refused at receipt."""
    for index, planned in enumerate(settings.telescope.default_exposures):
        try:
            check_filter_named(
                settings, f"telescope.default_exposures.{index}.filter", planned.filter
            )
        except WorkOrderInvalid as error:
            raise ConfigurationError(str(error)) from None
