"""Every ``OBSERVATORY_*`` variable that the README and the production files name is a
setting: an operator who copies one must not meet "unknown key"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from observatory.settings import ENV_NOT_SETTINGS, Settings

PROJECT = Path(__file__).resolve().parents[3]
DOCUMENTS = ["README.md", "docker/compose.yaml", "config/production.toml"]


def is_setting(variable: str) -> bool:
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("OBSERVATORY_").lower().split("__")
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if depth < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_variables_named_are_settings(document: str) -> None:
    text = (PROJECT / document).read_text()
    # Whole names only: `OBSERVATORY_DEVICES__*_ADDRESS` and `..._NUMBER` are patterns.
    names = set(re.findall(r"\bOBSERVATORY_[A-Z0-9_]*[A-Z0-9]\b(?![*.])", text)) - ENV_NOT_SETTINGS
    assert names, document
    unknown = sorted(name for name in names if not is_setting(name))
    assert not unknown, f"{document} names variables that are no settings: {unknown}"


def test_a_misspelt_variable_is_no_setting() -> None:
    assert is_setting("OBSERVATORY_DEVICES__DOME_ADDRESS")
    assert is_setting("OBSERVATORY_LOGS__MAX_MIB") and is_setting("OBSERVATORY_ROUTINE_PLAN")
    assert not is_setting("OBSERVATORY_DEVICES__DOME_ADRESS")
    assert not is_setting("OBSERVATORY_SITE_NAME__X")
    assert not is_setting("OBSERVATORY_LOG__MAX_MIB")
