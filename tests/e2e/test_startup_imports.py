"""Start-up stays quick (issue 22): the command line imports only what the command it runs uses.

`import tracker.cli` (what every command, and `tracker --help`, pays) must not load Alembic, the label renderers and
printers (NumPy, Pillow, ReportLab), the stock-take, SQLAlchemy or the register's schema: each is imported by the
command that needs it. Checked in a fresh interpreter, as the console script starts. The schema check every command
makes reads this program's newest revision without Alembic; it must agree with Alembic's own reading.

`tracker carrier show CODE` answers with Core SQL (`tracker.views`, `Store.read`): it never maps the ORM schema,
loads the services (nor argon2, which they configure), the ledger, the policy machinery, Pydantic (Typer's coercion,
deferred by `tracker.cli.Deferred`) or epcpy — in either language, as a table or as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import use_cli_demo

from tracker.store import _alembic_head, head_revision

HEAVY = ("alembic", "reportlab", "numpy", "PIL", "sqlalchemy", "tracker.schema", "tracker.store", "tracker.stocktake",
         "labels.printers", "labels.render.pdf", "labels.render.raster", "labels.render.zpl", "labels.render.tspl")


# What showing one carrier must not load (beside HEAVY's alembic, labels' renderers and printers, the stock-take).
NOT_FOR_SHOW = ("alembic", "reportlab", "numpy", "PIL", "tracker.schema", "tracker.stocktake", "labels.printers",
                "sqlalchemy.orm", "tracker.ledger", "tracker.queries", "tracker.services", "tracker.policy",
                "tracker.replay", "pydantic", "argon2", "epcpy")


def loaded_after(code: str) -> set[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def run_main(*argv: str) -> tuple[str, set[str]]:
    """`tracker ARGV` in a fresh interpreter: its output and the modules it loaded (printed after the command)."""
    probe = ("import json, sys\nfrom tracker.cli import main\n"
             f"sys.argv = ['tracker', *{list(argv)!r}]\n"
             "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
             "print('MODULES', json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    output, _, modules = done.stdout.rpartition("MODULES ")
    return output, set(json.loads(modules))


def test_importing_the_command_line_loads_none_of_the_heavy_machinery() -> None:
    loaded = loaded_after("import tracker.cli")
    assert not [m for m in HEAVY if m in loaded]
    loaded = loaded_after("from tracker.cli import app")  # the whole application, every command registered
    assert "tracker.cli.label" in loaded and "tracker.cli.stocktake" in loaded
    assert not [m for m in HEAVY if m in loaded]


def test_a_command_line_loads_only_its_own_group() -> None:
    loaded = loaded_after("import sys\nfrom tracker.cli import main\n"
                          "sys.argv = ['tracker', 'carrier', 'show', '--help']\n"
                          "try:\n    main()\nexcept SystemExit:\n    pass")
    assert "tracker.cli.carrier" in loaded
    own = ("tracker.cli.carrier", "tracker.cli.common", "tracker.cli.i18n")
    assert not [m for m in loaded if m.startswith("tracker.cli.") and m not in own]


def test_the_listing_of_commands_loads_none_of_it_either() -> None:
    loaded = loaded_after("import sys\nfrom tracker.cli import main\nsys.argv = ['tracker', '--help']\n"
                          "try:\n    main()\nexcept SystemExit:\n    pass")
    assert not [m for m in (*HEAVY, "pydantic", "epcpy", "argon2") if m in loaded]


def test_the_schema_check_reads_the_same_head_as_alembic() -> None:
    assert head_revision() == _alembic_head()


@pytest.mark.parametrize("options", [(), ("--json",), ("--lang", "zh")])
def test_showing_a_carrier_loads_neither_the_orm_nor_the_services(cli_demo: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   options: tuple[str, ...]) -> None:
    use_cli_demo(cli_demo, tmp_path, monkeypatch)
    lang = tuple(o for o in options if o != "--json")
    output, loaded = run_main(*lang, "carrier", "show", "BJ-000001S", *[o for o in options if o == "--json"])
    assert "BJ-000001S" in output and ("密级标志" in output if lang else "marking" in output)
    assert "tracker.views" in loaded and "sqlalchemy" in loaded  # it did read the register
    assert sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in NOT_FOR_SHOW)) == []


def test_a_command_that_signs_in_hashes_pins_at_the_settings_cost(cli_demo: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings' argon2 cost is taken up by the services when they are loaded after the settings were read."""
    use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_ARGON2_TIME_COST="3", TRACKER_ARGON2_MEMORY_KIB="64")
    probe = ("from tracker.cli import common\ncommon.settings()\nimport sys\n"
             "assert 'tracker.services.common' not in sys.modules\n"
             "from tracker.services import common as services\n"
             "print(services._hasher.time_cost, services._hasher.memory_cost, services._DUMMY is not None)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["3", "64", "True"]
