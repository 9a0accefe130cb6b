"""Hostile input at the command line ends in a documented exit code and a bilingual message, never a traceback
(issue 16): a GB18030 import, a 1 MB field, a page count no column holds, a NUL in a field, and `db upgrade` against
a server that is not there. Each refused import writes nothing."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from tests_support import invoke, use_cli_demo

from tracker.demo import place

SHELF = place("BJ", "R2C1S1")


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch)


def head() -> int:
    code, out = invoke("status", "--json")
    assert code == 0, out
    return int(json.loads(out)["ledger_head"]["seq"])


def clean(out: str) -> None:
    assert "Traceback" not in out and "Error:" not in out.split("\n")[0]


def test_a_gb18030_import_is_read_like_an_upload(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"classification,location,title,issuer\ninternal,{SHELF},关于保密工作的通知,保密办\n"
                     .encode("gb18030"))
    code, out = invoke("carrier", "import", str(path))
    assert code == 0, out
    assert "Imported 1 carriers" in out
    code, out = invoke("carrier", "find", "关于保密工作的通知", "--json")
    assert code == 0 and json.loads(out)[0]["title"] == "关于保密工作的通知"


def test_a_file_in_neither_encoding_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"classification,location\n\xff\xff\xff\x80\x80\n")
    before = head()
    code, out = invoke("carrier", "import", str(path))
    assert code == 2 and "neither UTF-8 nor GB18030" in out
    clean(out)
    assert head() == before


def test_a_1mb_field_names_its_line(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f"classification,location,title\ninternal,{SHELF},ok\ninternal,{SHELF},{'x' * 1_000_000}\n",
                    encoding="utf-8")
    before = head()
    code, out = invoke("carrier", "import", str(path))
    assert code == 2, out
    assert "line 3: a field is longer than 131072 characters" in out
    clean(out)
    assert head() == before
    code, out = invoke("carrier", "import", str(path), TRACKER_LANG="zh")
    assert code == 2 and "第 3 行" in out


def test_a_title_over_its_limit_is_refused_naming_field_and_line(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(f"classification,location,doc_number\ninternal,{SHELF},{'号' * 101}\n", encoding="utf-8")
    code, out = invoke("carrier", "import", str(path))
    assert code == 2 and "line 2: doc_number is 101 characters long; at most 100" in out
    clean(out)


@pytest.mark.parametrize("args", [
    ["--pages", "99999999999999999999999"],
    ["--pages", "-1"],
    ["--copy", "1/99999999999999999999999"],
])
def test_a_number_no_column_holds(env: dict[str, str], args: list[str]) -> None:
    before = head()
    code, out = invoke("carrier", "add", "--location", SHELF, "--classification", "internal", *args)
    assert code == 2, out
    assert re.search(r"R-(16|30): The (pages|number of copies) must be 1 to \d+, not", out), out
    clean(out)
    assert head() == before


def test_a_huge_number_in_an_import(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "pages.csv"
    path.write_text(f"classification,location,pages\ninternal,{SHELF},99999999999999999999999\n", encoding="utf-8")
    code, out = invoke("carrier", "import", str(path))
    assert code == 2 and "R-16: row 2: The pages must be 1 to 100000" in out
    clean(out)


def test_a_nul_in_a_field(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(f"classification,location,title\ninternal,{SHELF},a\x00b\n".encode())
    before = head()
    code, out = invoke("carrier", "import", str(path))
    assert code == 2, out
    assert "line 2" in out and "\\x00" in out
    clean(out)
    assert head() == before


def test_db_upgrade_against_a_server_that_is_not_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        url = f"postgresql+psycopg://tracker:s3cret@127.0.0.1:{port}/register"
        use_env = {"TRACKER_CONFIG": "", "TRACKER_DATABASE_URL": url, "TRACKER_LANG": "en"}
        for k, v in use_env.items():
            monkeypatch.setenv(k, v)
        code, out = invoke("db", "upgrade")
    assert code == 2, out
    assert f"Cannot open the register at postgresql+psycopg://tracker:***@127.0.0.1:{port}/register" in out
    assert "s3cret" not in out
    clean(out)
