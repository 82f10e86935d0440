"""tools/coverage.py: spec operations matched against our routes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "coverage.py"
spec = importlib.util.spec_from_file_location("coverage_tool", TOOL)
assert spec and spec.loader
coverage = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = coverage  # dataclasses look their module up there
spec.loader.exec_module(coverage)


def test_path_parameters_match_whatever_their_names() -> None:
    assert coverage.shape("/v3/users/{user_id}/roles/") == coverage.shape("/v3/users/{id}/roles")
    assert coverage.shape("/v3/users/{user_id}") != coverage.shape("/v3/users/me")


def test_measure_counts_served_missing_and_extra(tmp_path: Path) -> None:
    (tmp_path / "identity").mkdir()
    (tmp_path / "identity" / "v3.yaml").write_text(
        "paths:\n"
        "  /v3/projects/{pid}:\n    get: {}\n    head: {}\n    patch: {}\n"
        "  /v3/no-such-thing:\n    get: {}\n"
    )
    (tmp_path / "compute").mkdir()
    (tmp_path / "compute" / "v2.yaml").write_text("paths:\n  /servers:\n    get: {}\n")
    results = {c.service: c for c in coverage.measure(tmp_path)}
    identity = results["identity"]
    assert identity.served == {("GET", "/v3/projects/{pid}"), ("HEAD", "/v3/projects/{pid}"), ("PATCH", "/v3/projects/{pid}")}
    assert identity.missing == [("GET", "/v3/no-such-thing")]
    assert ("POST", "/v3/auth/tokens") in identity.extra  # ours, absent from this small spec
    assert not results["compute"].served
    text = coverage.render(results.values())
    assert "| `identity/v3.yaml` | 4 | 3 | 75 % |" in text
    assert "`GET /v3/no-such-thing`" in text


def test_real_specs_if_present(capsys: pytest.CaptureFixture[str]) -> None:
    from pocketstack.testing.spec import specs_dir

    if specs_dir() is None:
        pytest.skip("../shared/api-specs is not present")
    assert coverage.main(["--stdout"]) == 0
    assert "identity/v3.14.yaml" in capsys.readouterr().out
