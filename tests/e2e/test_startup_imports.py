"""Start-up stays quick (issue 22): the command line imports only what the command it runs uses.

`import tracker.cli` (what every command, and `tracker --help`, pays) must not load Alembic, the label renderers and
printers (NumPy, Pillow, ReportLab), the stock-take, SQLAlchemy or the register's schema: each is imported by the
command that needs it. Checked in a fresh interpreter, as the console script starts. The schema check every command
makes reads this program's newest revision without Alembic; it must agree with Alembic's own reading.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tracker.store import _alembic_head, head_revision

HEAVY = ("alembic", "reportlab", "numpy", "PIL", "sqlalchemy", "tracker.schema", "tracker.store", "tracker.stocktake",
         "labels.printers", "labels.render.pdf", "labels.render.raster", "labels.render.zpl", "labels.render.tspl")


def loaded_after(code: str) -> set[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


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
    assert not [m for m in HEAVY if m in loaded]


def test_the_schema_check_reads_the_same_head_as_alembic() -> None:
    assert head_revision() == _alembic_head()
