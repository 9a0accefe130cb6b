"""`tracker` — the command line, and the composition root for command-line use.

It builds the Typer `app` out of the command modules (one per command group: system, person, location, carrier,
circulation, ledger, label, devices, stocktake, approvals — with policy, audit, pin, backup and restore), resets the
per-invocation state, wires the label printer into `carrier add --print`, and runs the app (`main`, the console
script). Every command reads settings, opens the store, identifies the operator and prints through
`tracker.cli.common`, and calls the same services the TUI calls.
This module holds no command and no shared helper: a command module must never import it (nor another command
module), only `tracker.cli.common`, so there is no import cycle. Exit codes are listed in `tracker.cli.common`.
"""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Any

import typer

from tracker.cli import approvals, carrier, circulation, ledger, location, person, system
from tracker.cli.common import err, state, use_label_printer
from tracker.cli.destruction import destruction_app, endoflife_commands
from tracker.cli.devices import devices_app
from tracker.cli.label import label_app, print_codes
from tracker.cli.stocktake import stocktake_app

_SETTINGS: dict[str, Any] = dict(
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="Register of classified carriers (涉密载体登记): custody ledger, circulation, stock-take, labels.")
app = typer.Typer(**_SETTINGS)

# Top-level commands, in the order `tracker --help` lists them.
for _commands in (system.commands, person.commands, circulation.commands, ledger.commands, approvals.commands,
                  endoflife_commands):
    app.registered_commands.extend(_commands.registered_commands)
for _group, _name in ((person.person_app, "person"), (location.location_app, "location"),
                      (carrier.carrier_app, "carrier"), (ledger.ledger_app, "ledger"), (system.db_app, "db"),
                      (label_app, "label"), (devices_app, "devices"), (stocktake_app, "stocktake"),
                      (approvals.approvals_app, "approvals"), (approvals.policy_app, "policy"),
                      (approvals.pin_app, "pin"), (destruction_app, "destruction")):
    app.add_typer(_group, name=_name)

use_label_printer(lambda codes, rfid: print_codes(codes=codes, rfid=rfid))


@app.callback()
def main_callback(lang: Annotated[str | None, typer.Option(help="Language: en or zh.")] = None) -> None:
    # One invocation, one fresh state (tests and embedding call the app repeatedly in one process).
    if state.store is not None:
        state.store.dispose()
    state.settings, state.store = None, None
    if lang is not None:
        if lang not in ("en", "zh"):
            raise typer.BadParameter("--lang is en or zh")
        state.lang = lang
    else:
        state.lang = ""


def for_argv(argv: list[str]) -> typer.Typer:
    """The app cut down to the one command or group `argv` names, for the console script.

    Typer reads the signature of every registered command before it runs any (about 85 of them, a fifth of a second):
    a command line runs one, so only its group is built. `tracker --help` gets every group with only its help text
    (what the listing shows). A line this cannot read plainly (an unknown word, an option it does not know before the
    command) gets the whole app, so its error message is Typer's own. `app` itself stays whole: tests and
    `tests/e2e/test_exit_codes.py` enumerate it.
    """
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] == "--lang":
            i += 2
        elif argv[i].startswith("--lang="):
            i += 1
        elif argv[i] == "--help" and i == len(argv) - 1:
            return _listing()
        else:
            return app
    if i >= len(argv):
        return app
    word = argv[i]
    groups = [g for g in app.registered_groups if g.name == word]
    commands = [c for c in app.registered_commands
                if (c.name or typer.main.get_command_name(c.callback.__name__ if c.callback else "")) == word]
    if not groups and not commands:
        return app
    cut = typer.Typer(**_SETTINGS)
    cut.registered_callback = app.registered_callback
    cut.registered_groups, cut.registered_commands = groups, commands
    return cut


def _listing() -> typer.Typer:
    """`tracker --help`: the top-level commands, and every group as a name and its help."""
    listing = typer.Typer(**_SETTINGS)
    listing.registered_callback = app.registered_callback
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or typer.main.get_command_name(command.callback.__name__)
        listing.command(name, help=command.help or inspect.getdoc(command.callback), hidden=command.hidden,
                        short_help=command.short_help, deprecated=command.deprecated)(_nothing)
    for group in app.registered_groups:
        assert group.typer_instance is not None
        listing.add_typer(typer.Typer(help=group.typer_instance.info.help), name=group.name)
    return listing


def _nothing() -> None:
    """Stands in for a command in the listing, which shows its help and never runs it."""


def main() -> None:
    try:
        for_argv(sys.argv[1:])()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    finally:
        if state.store is not None:  # closes the register, after any checkpoint a bulk write left to its thread
            state.store.dispose()
