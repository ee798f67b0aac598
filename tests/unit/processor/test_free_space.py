"""A batch whose products would fill the disk: the step fails at once, naming the
folder, and nothing is half-written."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from observatory.db.models import MasterFrame, StepRun
from observatory.db.session import session_scope
from observatory.settings import Settings
from tests.helpers import small_disk
from tests.unit.processor.conftest import Night, batch_url, full_batch, run_chain


def test_products_that_would_cut_into_the_reserve_fail_their_step(
    settings: Settings, night: Night, tmp_path: Path
) -> None:
    url = batch_url(settings, "2026-11-23", full_batch(night))
    # 1 MiB, 0.9 MiB of it kept free: less room than one float32 product of the night.
    with small_disk(tmp_path / "products", 1024) as disk:
        processor = settings.processor.model_copy(update={"products_dir": disk})
        settings = settings.model_copy(update={"processor": processor, "min_free_mib": 0.9})
        outcomes = run_chain(settings, url, ("bias",))
        left = sorted(str(p.relative_to(disk)) for p in disk.rglob("*") if p.is_file())
    [bias] = outcomes["bias"]
    assert bias["ok"] is False
    assert bias["error"].startswith("StorageFull: product 2026-11-23/"), bias["error"]
    assert f"{disk}/2026-11-23" in bias["error"] and "min_free_mib (0.9 MiB)" in bias["error"]
    assert left == []
    with session_scope(settings.sqlalchemy_url) as session:
        step = session.scalars(select(StepRun).where(StepRun.step == "bias")).one()
        assert step.state == "failed" and step.error is not None and "StorageFull" in step.error
        assert list(session.scalars(select(MasterFrame))) == []
