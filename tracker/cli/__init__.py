"""`tracker` — the command line, and the composition root for command-line use.

It builds the Typer `app` out of the command modules (one per command group: system, person, location, carrier,
circulation, ledger, label, devices, stocktake, approvals, destruction, print-run, meeting, incident, gate, cabinet,
watch, register, duties, campaign, incoming, package, transit — with policy, audit, pin, backup and restore), resets
the per-invocation state, wires the label printer into `carrier add --print`, and runs the app (`main`, the console
script). Every command reads settings, opens the store, identifies the operator and prints through
`tracker.cli.common`, and calls the same services the TUI calls. This module holds no command and no shared helper: a
command module must never import it (nor another command module), only `tracker.cli.common`, so there is no import
cycle. Exit codes are listed in `tracker.cli.common`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tracker.cli import (
    approvals,
    carrier,
    circulation,
    common,
    duties,
    i18n,
    ledger,
    location,
    person,
    register,
    system,
)
from tracker.cli.campaign import campaign_app
from tracker.cli.common import err, state, use_label_printer
from tracker.cli.destruction import destruction_app, endoflife_commands
from tracker.cli.devices import devices_app
from tracker.cli.incident import incident_app
from tracker.cli.label import label_app, print_codes
from tracker.cli.meeting import meeting_app
from tracker.cli.printrun import printrun_app
from tracker.cli.stocktake import stocktake_app
from tracker.cli.transit import incoming_app, package_app, transit_app
from tracker.cli.watch import cabinet_app, gate_app, watch_app

# The root group puts help pages and usage errors in Chinese for --lang zh (tracker.cli.i18n).
app = typer.Typer(cls=i18n.LocalizedGroup, no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="Register of classified carriers (涉密载体登记): custody ledger, circulation, stock-take, "
                       "labels.")

# Top-level commands, in the order `tracker --help` lists them.
for _commands in (system.commands, person.commands, circulation.commands, duties.commands, ledger.commands,
                  approvals.commands, endoflife_commands, register.commands):
    app.registered_commands.extend(_commands.registered_commands)
for _group, _name in ((person.person_app, "person"), (location.location_app, "location"),
                      (carrier.carrier_app, "carrier"), (ledger.ledger_app, "ledger"), (system.db_app, "db"),
                      (label_app, "label"), (devices_app, "devices"), (stocktake_app, "stocktake"),
                      (approvals.approvals_app, "approvals"), (approvals.policy_app, "policy"),
                      (approvals.pin_app, "pin"), (destruction_app, "destruction"), (printrun_app, "print-run"),
                      (meeting_app, "meeting"), (incident_app, "incident"), (gate_app, "gate"),
                      (cabinet_app, "cabinet"), (watch_app, "watch"), (campaign_app, "campaign"),
                      (incoming_app, "incoming"), (package_app, "package"), (transit_app, "transit")):
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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print(common.say("interrupted", "已中断"))
        sys.exit(130)
    finally:
        if state.store is not None:  # closes the register, after any checkpoint a bulk write left to its thread
            state.store.dispose()
