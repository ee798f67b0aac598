"""Mutation testing of the core decision modules, one group at a time (``make mutation``).

Each group names the modules to mutate and the fast tests that guard them. For a group,
mutmut runs in its own scratch folder under ``var/mutation/<group>`` (links to the
packages and tests, and a ``setup.cfg`` naming the group), so groups never share state
and a run may be repeated for one group alone::

    python scripts/mutation.py                 # every group, one after the other
    python scripts/mutation.py states dome     # only these groups
    python scripts/mutation.py --list

Mutants run one at a time (``--max-children``, default 1): the machine is shared. Prints
each group's killed/total and the survivors' names; exits 1 when the overall score is
under ``--min-score`` (default 90 %). Survivors and why they are left: docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINKED = ("observatory", "tasks", "workers", "tests", "config", "pyproject.toml")
# A mutant whose tests ran past the time limit counts as detected (killed), as in mutmut.
DETECTED = ("killed", "timeout")
NOT_KILLED = ("survived", "no tests", "suspicious", "skipped", "segfault", "not checked")


@dataclass(frozen=True)
class Group:
    modules: tuple[str, ...]
    tests: tuple[str, ...]


GROUPS: dict[str, Group] = {
    "states": Group(
        ("observatory/orders/states.py", "observatory/orders/lifecycle.py"),
        ("tests/unit/orders", "tests/unit/tasks", "tests/unit/test_intake.py"),
    ),
    "intake": Group(
        ("observatory/intake.py",),
        # The orders' tests submit through the intake: waiting windows, holds, batch
        # names, a rejected id replaced.
        ("tests/unit/test_intake.py", "tests/unit/test_intake_commit_then_publish.py",
         "tests/unit/test_intake_rows.py", "tests/unit/orders"),
    ),
    "steps": Group(
        ("observatory/steps.py", "tasks/common.py"),
        ("tests/unit/test_steps.py", "tests/unit/tasks"),
    ),
    "celery-config": Group(("workers/config.py",), ("tests/unit/workers/test_config.py",)),
    "library": Group(
        ("observatory/processor/library.py",), ("tests/unit/processor/test_library.py",)
    ),
    "planning": Group(
        ("observatory/processor/driver.py", "observatory/processor/plan.py"),
        ("tests/unit/processor/test_driver.py", "tests/unit/processor/test_plan.py"),
    ),
    "clipping": Group(
        ("observatory/calibration/clipping.py", "observatory/calibration/stacking.py"),
        # test_engines: the numpy engine and the row tiles against the compiled kernels.
        ("tests/unit/calibration/test_stacking.py", "tests/unit/calibration/test_clipping.py",
         "tests/unit/calibration/test_clipping_ties.py", "tests/unit/calibration/test_engines.py"),
    ),
    "transfer": Group(
        ("observatory/transfer/policy.py", "observatory/transfer/manifest.py"),
        ("tests/unit/transfer/test_policy.py", "tests/unit/transfer/test_manifest.py",
         "tests/unit/transfer/test_fetch_batch.py"),
    ),
    "supervisor": Group(
        ("observatory/supervisor/decision.py",), ("tests/unit/supervisor/test_decision.py",)
    ),
    "dome": Group(
        ("observatory/devices/dome.py", "observatory/devices/alpaca_client.py"),
        ("tests/unit/devices/test_dome.py", "tests/unit/devices/test_alpaca_client.py"),
    ),
    "api-auth": Group(("observatory/api/auth.py",), ("tests/unit/api/test_auth.py",)),
}  # fmt: skip


def setup_cfg(group: Group) -> str:
    def listing(values: tuple[str, ...] | list[str]) -> str:
        return "\n\t".join(values)

    tests = [path for path in group.tests if (ROOT / path).exists()]
    return (
        "[mutmut]\n"
        f"source_paths={listing(group.modules)}\n"
        f"only_mutate={listing(group.modules)}\n"
        f"pytest_add_cli_args_test_selection={listing(tests)}\n"
        # File order and SQLite only: the same tests for every mutant, and fast.
        "pytest_add_cli_args=-p no:randomly\n\t-m\n\tnot postgres and not slow\n\t-q\n"
        f"also_copy={listing(LINKED[:-1])}\n"
    )


def run_group(name: str, group: Group, max_children: int) -> dict[str, list[str]]:
    """Run mutmut for one group; returns the mutant names by status."""
    folder = ROOT / "var" / "mutation" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for entry in LINKED:
        (folder / entry).symlink_to(ROOT / entry)
    (folder / "setup.cfg").write_text(setup_cfg(group))
    mutmut = [sys.executable, "-m", "mutmut"]
    # mutmut forks a process per mutant from one that has run the tests. numba's default
    # OpenMP layer kills a forked child that runs a parallel kernel (SIGTERM, "fork()
    # called from a process already using GNU OpenMP"), which mutmut counts as
    # suspicious; the workqueue layer survives a fork (kernels.PARALLEL_LOCK keeps it
    # to one caller at a time).
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    subprocess.run(
        [*mutmut, "run", "--max-children", str(max_children)],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    results = [*mutmut, "results", "--all", "true"]
    listed = subprocess.run(results, cwd=folder, check=True, capture_output=True, text=True).stdout
    by_status: dict[str, list[str]] = {}
    for line in listed.splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if mutant:
            by_status.setdefault(status, []).append(mutant)
    return by_status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help="groups to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--min-score", type=float, default=90.0)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.list:
        for name, group in GROUPS.items():
            print(f"{name}: {' '.join(group.modules)}")
        return 0
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; see --list")
    killed = total = 0
    results = {}
    for name in args.groups or list(GROUPS):
        by_status = run_group(name, GROUPS[name], args.max_children)
        results[name] = by_status
        group_total = sum(len(mutants) for mutants in by_status.values())
        group_killed = sum(len(by_status.get(status, [])) for status in DETECTED)
        killed, total = killed + group_killed, total + group_total
        print(f"{name}: {group_killed}/{group_total} killed", flush=True)
        for status in NOT_KILLED:
            for mutant in by_status.get(status, []):
                print(f"    {status}: {mutant}", flush=True)
    score = 100.0 * killed / total if total else 100.0
    print(f"mutation score: {killed}/{total} = {score:.1f} % (at least {args.min_score:g} %)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if score >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
