"""A module that is imported the first time one of its names is used, so the command line starts quickly.

`tracker --help` and a read like `tracker carrier show` must not pay for Alembic, the label renderers, the stock-take
or the device drivers. A command module names what it uses as usual for the type checker and binds a `lazy` stand-in
at run time:

    if TYPE_CHECKING:
        from tracker import queries
    else:
        queries = lazy("tracker.queries")

and then writes `queries.find(...)` as before. Names a command needs as such (an exception class in `except`, a
constant) are imported inside that command's function instead. This module must never import anything itself.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands in for a module until an attribute is read, then hands out the real module's attributes."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_target"] = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__dict__["_lazy_target"])
        value = getattr(module, attr)
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_lazy_target']!r}>"


def lazy(name: str) -> Any:
    """A stand-in for the module `name` (absolute), imported on first use."""
    return _LazyModule(name)
