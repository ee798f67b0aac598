"""Flower's credentials rule, and ``observatory up --flower`` refusing before it starts
anything. The same refusals as processes: tests/integration/test_flower.py (slow)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.cli.flower import check_flower_auth
from observatory.cli.main import main
from observatory.errors import ConfigurationError
from observatory.settings import FlowerSettings, Settings, get_settings


def with_auth(*pairs: str) -> Settings:
    return Settings(flower=FlowerSettings(basic_auth=list(pairs)))


def test_the_configured_pairs_are_required() -> None:
    pairs = ["operator:pw", "second:other"]
    assert check_flower_auth(with_auth(*pairs), "0.0.0.0", no_auth=False) == pairs
    # Credentials win over --no-auth, on any address.
    assert check_flower_auth(with_auth(*pairs), "0.0.0.0", no_auth=True) == pairs


def test_without_credentials_flower_refuses_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="Flower needs credentials") as caught:
        check_flower_auth(with_auth(), "127.0.0.1", no_auth=False)
    assert "OBSERVATORY_FLOWER__BASIC_AUTH" in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_no_auth_is_allowed_on_loopback(host: str) -> None:
    assert check_flower_auth(with_auth(), host, no_auth=True) == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "flower.example.org"])
def test_no_auth_is_refused_elsewhere(host: str) -> None:
    with pytest.raises(ConfigurationError, match="loopback address only") as caught:
        check_flower_auth(with_auth(), host, no_auth=True)
    assert repr(host) in str(caught.value)


@pytest.mark.parametrize("pair", ["operator", "operator:", ":pw"])
def test_a_pair_without_user_or_password_is_refused(pair: str) -> None:
    with pytest.raises(ConfigurationError, match="user:password with neither part empty"):
        check_flower_auth(with_auth("good:pw", pair), "127.0.0.1", no_auth=True)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings without Flower credentials and with a data folder nothing has made yet."""
    for name in ("OBSERVATORY_FLOWER__BASIC_AUTH", "FLOWER_BASIC_AUTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OBSERVATORY_CONFIG", os.devnull)
    data = tmp_path / "data"
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


# Were the refusal gone, `up` would start the stack in this process and block: a timeout.
@pytest.mark.timeout(60)
def test_up_with_flower_refuses_in_one_line_before_starting_anything(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--flower"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("observatory up: Flower needs credentials")
    assert err.count("\n") == 1
    assert not data_dir.exists()
