"""identity.tokens: the Fernet token format and the key repository's rotation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pocketstack.services.identity.tokens import KeyRepository, TokenFormatter, TokenPayload, new_audit_id

NOW = dt.datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)


def payload(**scope: str) -> TokenPayload:
    return TokenPayload(
        user_id="u" * 32,
        methods=["password", "token"],
        issued_at=NOW,
        expires_at=NOW + dt.timedelta(hours=1),
        audit_ids=[new_audit_id(), new_audit_id()],
        **scope,
    )


@pytest.fixture
def repo(tmp_path: Path) -> KeyRepository:
    repository = KeyRepository(tmp_path / "fernet-keys")
    repository.ensure()
    return repository


def test_keys_are_private_files_named_by_number(repo: KeyRepository) -> None:
    names = sorted(p.name for p in repo.directory.iterdir())
    assert names == ["0", "1"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in repo.directory.iterdir())
    repo.ensure()  # a second call keeps the keys it has
    assert sorted(p.name for p in repo.directory.iterdir()) == ["0", "1"]


@pytest.mark.parametrize(
    "scope",
    [{}, {"project_id": "p1"}, {"domain_id": "default"}, {"system": "all"}, {"project_id": "p1", "trust_id": "t1"}, {"application_credential_id": "a1", "project_id": "p1"}],
)
def test_round_trip_keeps_every_field(repo: KeyRepository, scope: dict[str, str]) -> None:
    formatter = TokenFormatter(repo)
    original = payload(**scope)
    token = formatter.encode(original)
    assert "=" not in token and len(token) < 400  # url-safe, unpadded, header-sized
    assert formatter.decode(token) == original


def test_tampered_and_foreign_tokens_are_rejected(repo: KeyRepository, tmp_path: Path) -> None:
    formatter = TokenFormatter(repo)
    token = formatter.encode(payload(project_id="p1"))
    for i in (0, len(token) // 2, len(token) - 2):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        assert formatter.decode(flipped) is None
    assert formatter.decode(token[:-5]) is None
    assert formatter.decode("") is None
    assert formatter.decode("not a token at all") is None
    assert formatter.decode("x" * 5000) is None
    other = KeyRepository(tmp_path / "other-keys")
    other.ensure()
    assert TokenFormatter(other).decode(token) is None  # signed by another cloud's keys


def test_rotation_keeps_old_tokens_until_their_key_is_dropped(repo: KeyRepository) -> None:
    formatter = TokenFormatter(repo)
    old = formatter.encode(payload())
    repo.rotate(max_active_keys=3)  # keys: 2 (primary), 1, 0 (staged)
    formatter.reload()
    new = formatter.encode(payload())
    assert formatter.decode(old) is not None and formatter.decode(new) is not None
    repo.rotate(max_active_keys=3)  # keys: 3, 2, 0 -- key 1, which signed `old`, is gone
    formatter.reload()
    assert sorted(int(p.name) for p in repo.directory.iterdir()) == [0, 2, 3]
    assert formatter.decode(old) is None
    assert formatter.decode(new) is not None


def test_staged_key_validates_but_never_signs(repo: KeyRepository) -> None:
    staged_only = KeyRepository(repo.directory.parent / "staged-only")
    staged_only.directory.mkdir()
    (staged_only.directory / "0").write_bytes((repo.directory / "0").read_bytes())
    token = TokenFormatter(repo).encode(payload())
    # signed with the primary (1), so a repository holding only key 0 cannot read it...
    assert TokenFormatter(staged_only).decode(token) is None
    # ...and once 0 is promoted, tokens it signs are readable by a server that still has it staged
    repo.rotate()
    promoted = TokenFormatter(repo).encode(payload())
    assert TokenFormatter(staged_only).decode(promoted) is not None


def test_running_formatter_picks_up_a_rotation(repo: KeyRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    formatter = TokenFormatter(repo)
    monkeypatch.setattr(TokenFormatter, "RELOAD_CHECK_SECONDS", 0.0)
    repo.rotate()
    repo.rotate()  # the original primary (1) is now the oldest kept key
    token = formatter.encode(payload())
    newest = max(int(p.name) for p in repo.directory.iterdir())
    only_newest = KeyRepository(repo.directory.parent / "newest")
    only_newest.directory.mkdir()
    (only_newest.directory / "1").write_bytes((repo.directory / str(newest)).read_bytes())
    assert TokenFormatter(only_newest).decode(token) is not None  # signed with the new primary
