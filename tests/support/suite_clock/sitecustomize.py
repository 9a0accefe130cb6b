"""The test suite's clock in every Python process a test starts (the `tracker` command, `python -c …`, workers).

Only the tests put this directory on PYTHONPATH (tests/support/suite_time.py): it is not part of the installed
application, so the variable it reads moves no clock outside the suite. When `tracker.store` is imported, its
`default_clock` becomes the suite's clock: the instant in SUITE_CLOCK plus the time the machine's monotonic clock
(one clock for every process on a Linux host) has run since the suite started. Time passes as it does, but the
calendar is the suite's, whatever date the machine believes it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType
from typing import Any


def _install(module: ModuleType) -> None:
    import suite_time  # beside this directory, on PYTHONPATH too

    module.default_clock = suite_time.from_environment()


class _AfterStore(importlib.abc.MetaPathFinder):
    """Wraps the loading of `tracker.store` so the clock is set the moment the module exists; importing it here,
    at start-up, would load SQLAlchemy into every Python process the tests run, whether it needs it or not."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "tracker.store":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _install(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get("SUITE_CLOCK"):
    sys.meta_path.insert(0, _AfterStore())
