"""Fixtures shared by every test folder, the xdist groups of the expensive ones, and the
random test order's seed on every report."""

from __future__ import annotations

import pytest

from tests.db_fixtures import (  # noqa: F401  (fixtures are found by name)
    _postgres_test_database,
    _sqlite_migrated_file,
    database_url,
    postgres_server,
    postgres_url,
)

# Expensive session fixtures, and the pytest-xdist group of the tests using them
# (``make test-fast`` runs ``--dist loadgroup``): each group runs in one worker process, so
# that one stack starts (tests/integration/conftest.py) and one night is taken
# (tests/unit/processor/conftest.py; in the stack's group, as
# tests/integration/test_processor_orders.py uses both); the first match wins. Tests using
# a module's own fixture (a simulator, a server) are grouped by module. Without xdist the
# marks do nothing.
XDIST_GROUPS = (("stack", frozenset({"stack", "stack_settings", "night"})),)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        group = next((name for name, fixtures in XDIST_GROUPS if fixtures & used), None)
        if group is None and _uses_a_module_fixture(item):
            # A module's own simulator (or server) starts once, not once per process.
            group = item.nodeid.split("::", 1)[0]
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    """Whether ``item`` uses a module-, package- or class-scoped fixture of the suite's own
    (these start simulators and servers; xdist would otherwise start them in each process
    that runs one of the module's tests)."""
    if not isinstance(item, pytest.Function):
        return False
    for name in item.fixturenames:
        definitions = item._fixtureinfo.name2fixturedefs.get(name)
        if not definitions:
            continue
        definition = definitions[-1]
        if definition.scope in ("module", "package", "class") and definition.baseid.startswith(
            "tests"
        ):
            return True
    return False


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the seed of the random order (pytest-randomly) even under ``-q``, and on a
    failure the command that runs the same order again."""
    if not config.pluginmanager.hasplugin("randomly"):
        return
    seed = config.getoption("randomly_seed")
    terminalreporter.write_line(f"tests ran in random order: --randomly-seed={seed}")
    if exitstatus == pytest.ExitCode.TESTS_FAILED:
        terminalreporter.write_line(
            f"reproduce this order with: python -m pytest -p randomly --randomly-seed={seed} "
            "<the same paths and options>",
            red=True,
        )
