"""`tracker location …`: the storage places (site → room → safe/cabinet → shelf) and reading places.

It turns command lines into calls to `tracker.services.registry`; it must never check a rule itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from tracker.cli.common import (
    JsonFlag,
    ensure_lang,
    list_rows,
    operator,
    out,
    run,
    say,
    store,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import queries
    from tracker.services import registry
else:
    queries, registry = lazy("tracker.queries"), lazy("tracker.services.registry")

location_app = typer.Typer(no_args_is_help=True, help="Storage places: site → room → safe/cabinet → shelf.")


@location_app.command("add")
def location_add(
    code: str, name: str,
    kind: Annotated[str, typer.Option(help="site, room, safe, cabinet or shelf")],
    max_level: Annotated[str, typer.Option(help="Highest level it may store.")],
    parent: Annotated[str | None, typer.Option()] = None,
    reading_place: Annotated[bool, typer.Option(help="A designated reading place (R-67).")] = False,
) -> None:
    """Add a storage place under its parent; it never allows a higher level than its parent (R-47)."""
    ensure_lang()
    actor = operator()
    run(lambda: registry.add_location(store().uow(), actor, code, name, kind, max_level, parent, reading_place))
    out.print(Text(say(f"Added {code}.", f"已添加 {code}。")))


@location_app.command("list")
def location_list(as_json: JsonFlag = False) -> None:
    """Every storage and reading place with its parent and the highest level it may store."""
    list_rows(queries.locations, ("Places", "存放位置"),
              ["code", "name", "kind", "parent", "max level", "reading place"], as_json)
