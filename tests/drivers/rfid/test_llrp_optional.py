"""The core works without sllurp (GPL-3.0, optional): LLRP fails only when used, naming the [llrp] extra."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
sys.modules["sllurp"] = None  # as if the [llrp] extra were not installed
import drivers.rfid.llrp as llrp, drivers.rfid.inventory, drivers.rfid.magicrf, drivers.emulators.rfid_llrp
from drivers.rfid.base import RfidError
assert "sllurp" not in [m for m in sys.modules if sys.modules[m] is not None]
try:
    llrp.LlrpReader("127.0.0.1", 1).start()
except RfidError as exc:
    print(exc)
"""


def test_llrp_without_sllurp_names_the_extra() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True, timeout=60)
    assert "pip install 'carrier-tracker[llrp]'" in out.stdout and "GPL-3.0" in out.stdout
