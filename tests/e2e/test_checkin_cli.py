"""`tracker checkin` of a carrier that is not out: refused for that (R-66, exit 3) in both languages, before any
question about the place it goes back to, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests_support import invoke, use_cli_demo

from tracker.demo import place


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch)


def _in_store() -> dict[str, str]:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    assert code == 0, out
    return next(c for c in json.loads(out) if c["status"] == "in_store")


def _head() -> int:
    return int(json.loads(invoke("status", "--json")[1])["ledger_head"]["seq"])


@pytest.mark.parametrize("to", [None, place("BJ", "R9C9S9")], ids=["no-place", "unknown-place"])
def test_checkin_of_a_carrier_in_store_says_it_is_not_out(env: dict[str, str], to: str | None) -> None:
    carrier = _in_store()["code"]
    before = _head()
    code, out = invoke("checkin", carrier, *(["--to", to] if to else []))
    flat = " ".join(out.split())
    assert code == 3, out
    assert "R-66" in flat and "not out" in flat and "say where" not in flat and "No place" not in flat, out
    code, out = invoke("--lang", "zh", "checkin", carrier, *(["--to", to] if to else []))
    flat = "".join(out.split())
    assert code == 3 and "未借出" in flat and "存放位置" not in flat, out
    assert _head() == before
