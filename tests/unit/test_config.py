"""config: defaults < TOML file < POCKETSTACK_* environment < command-line flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pocketstack.config import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("POCKETSTACK_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pocketstack.toml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert settings.port == 5000 and settings.host == "127.0.0.1"
    assert settings.identity.token_expiration == 3600
    assert settings.effective_database_url == f"sqlite:///{settings.data_dir / 'pocketstack.db'}"
    assert settings.effective_public_url == "http://127.0.0.1:5000"


def test_file_sets_values_and_nested_sections(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'port = 6000\ndata_dir = "/srv/ps"\n[identity]\ntoken_expiration = 60\n'
        "[identity.security_compliance]\nlockout_failure_attempts = 3\n",
    )
    settings = load_settings(path)
    assert settings.port == 6000 and settings.data_dir == Path("/srv/ps")
    assert settings.identity.token_expiration == 60
    assert settings.identity.security_compliance.lockout_failure_attempts == 3
    assert settings.identity.password_hash_rounds == 12  # untouched siblings keep defaults


def test_environment_beats_file_without_wiping_the_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "port = 6000\n[identity]\ntoken_expiration = 60\nmax_password_length = 100\n")
    monkeypatch.setenv("POCKETSTACK_PORT", "7000")
    monkeypatch.setenv("POCKETSTACK_IDENTITY__TOKEN_EXPIRATION", "5")
    monkeypatch.setenv("POCKETSTACK_IDENTITY__SECURITY_COMPLIANCE__UNIQUE_LAST_PASSWORD_COUNT", "2")
    settings = load_settings(path)
    assert settings.port == 7000
    assert settings.identity.token_expiration == 5
    assert settings.identity.max_password_length == 100  # the file's other value survives
    assert settings.identity.security_compliance.unique_last_password_count == 2


def test_flags_beat_environment_and_none_means_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETSTACK_PORT", "7000")
    monkeypatch.setenv("POCKETSTACK_HOST", "0.0.0.0")
    settings = load_settings(write(tmp_path, "port = 6000\n"), port=8000, host=None)
    assert settings.port == 8000
    assert settings.host == "0.0.0.0"
    assert settings.effective_public_url == "http://127.0.0.1:8000"  # a wildcard is not a URL


def test_database_url_and_public_url(tmp_path: Path) -> None:
    settings = load_settings(database_url="postgresql+psycopg://u:p@db/ps", public_url="https://cloud.example.com/")
    assert settings.effective_database_url == "postgresql+psycopg://u:p@db/ps"
    assert settings.effective_public_url == "https://cloud.example.com"


def test_unknown_and_badly_typed_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        load_settings(write(tmp_path, "no_such_setting = 1\n"))
    with pytest.raises(ValidationError):
        load_settings(write(tmp_path, 'port = "many"\n'))


def test_image_store_settings_must_agree() -> None:
    import pytest
    from pydantic import ValidationError

    from pocketstack.config import ImageSettings

    for bad in (
        {"stores": {"a": "x"}, "default_store": "b"},
        {"store_weights": {"nowhere": 5}},
        {"http_store": True, "http_store_id": "local"},
    ):
        with pytest.raises(ValidationError):
            ImageSettings(**bad)
    assert ImageSettings(stores={"a": "x"}, default_store="a", store_weights={"a": 1}).default_store == "a"
