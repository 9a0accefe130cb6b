"""The register's GS1 company prefix on the command line: `tracker init` records `$TRACKER_GS1_PREFIX` together with
the first people (a refused init records no prefix, so a mistyped one can still be corrected by the next init), and
`tracker status` lists the prefixes, in its table (English and Chinese) and in its JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import CLI_ENV, invoke

from labels.codes import make_badge_code
from tracker.cli.common import state

PEOPLE = [
    "--badge", make_badge_code("BJ", "1"), "--name", "管理员",
    "--officer-badge", make_badge_code("BJ", "2"), "--officer-name", "保密员",
    "--auditor-badge", make_badge_code("BJ", "3"), "--auditor-name", "审计员",
    "--approver-badge", make_badge_code("BJ", "4"), "--approver-name", "主管领导",
]


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    env = {**CLI_ENV, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite'}", "TRACKER_OFFICER_PIN": "571938",
           "TRACKER_AUDITOR_PIN": "640275", "TRACKER_APPROVER_PIN": "739164"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("TRACKER_GS1_PREFIX", raising=False)
    tmp_path.chmod(0o700)
    monkeypatch.chdir(tmp_path)
    assert invoke("db", "upgrade")[0] == 0
    yield
    if state.store is not None:
        state.store.dispose()
        state.store = None


def _prefixes() -> list[str]:
    rc, out = invoke("status", "--json")
    assert rc == 0, out
    return list(json.loads(out)["company_prefixes"])


def test_a_refused_init_records_no_prefix_and_the_next_init_sets_the_right_one(empty: None) -> None:
    bad_badge = [*PEOPLE]
    bad_badge[1] = "BJ-P-1"  # not a badge code: the init is refused
    rc, out = invoke("init", *bad_badge, TRACKER_GS1_PREFIX="6999999")
    assert rc != 0 and "not a badge code" in out
    assert _prefixes() == []  # nothing of the refused init stays, the prefix included
    rc, out = invoke("init", *PEOPLE, TRACKER_GS1_PREFIX="69A")
    assert rc == 2 and "6 to 12 digits" in out
    assert _prefixes() == []
    rc, out = invoke("init", *PEOPLE, TRACKER_GS1_PREFIX="6901234, 69012345")
    assert rc == 0, out
    assert _prefixes() == ["6901234", "69012345"]
    rc, out = invoke("status")
    assert rc == 0 and "GS1 company prefixes" in out and "6901234, 69012345" in out
    rc, out = invoke("status", TRACKER_LANG="zh")
    assert rc == 0 and "GS1 厂商识别代码" in out and "6901234, 69012345" in out


def test_a_second_init_changes_no_prefix(empty: None) -> None:
    assert invoke("init", *PEOPLE, TRACKER_GS1_PREFIX="6901234")[0] == 0
    rc, out = invoke("init", *PEOPLE, TRACKER_GS1_PREFIX="6999999")
    assert rc != 0 and "already has people" in out
    assert _prefixes() == ["6901234"]


def test_without_a_prefix_status_shows_none(empty: None) -> None:
    assert invoke("init", *PEOPLE)[0] == 0
    assert _prefixes() == []
    rc, out = invoke("status")
    assert rc == 0 and "GS1 company prefixes" in out
