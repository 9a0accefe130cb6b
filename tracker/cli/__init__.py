"""`tracker` — the command line, and the composition root for command-line use.

It builds the Typer `app` out of the command modules (one per command group: system, person, location, carrier,
circulation, ledger, label, devices, stocktake, approvals, destruction, print-run, meeting, incident, gate, cabinet,
watch, register, duties, campaign, incoming, package, transit — with policy, audit, pin, backup and restore), resets
the per-invocation state, wires the label printer into `carrier add --print`, and runs the app (`main`, the console
script). Every command reads settings, opens the store, identifies the operator and prints through
`tracker.cli.common`, and calls the same services the TUI calls. This module holds no command and no shared helper: a
command module must never import it (nor another command module), only `tracker.cli.common`, so there is no import
cycle. Exit codes are listed in `tracker.cli.common`.

A command line runs one command, and start-up is paid on every call (issue 22): the command modules are named in
`GROUPS` and `COMMANDS` and imported when needed. `main` imports only the module of the group its command line names
(`tracker carrier show` loads tracker.cli.carrier alone); `app`, the whole application (tests enumerate it), is
built on first use. A new command group is one line in `GROUPS`; a module with top-level commands, one in `COMMANDS`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer._coercion import RuntimeParam, build_runtime_param

from tracker.cli import common, i18n
from tracker.cli.common import err, state, use_label_printer

# Command groups, in the order `tracker --help` lists them: name -> (module under tracker.cli, its Typer).
GROUPS: dict[str, tuple[str, str]] = {
    "person": ("person", "person_app"), "location": ("location", "location_app"),
    "carrier": ("carrier", "carrier_app"), "ledger": ("ledger", "ledger_app"), "db": ("system", "db_app"),
    "label": ("label", "label_app"), "devices": ("devices", "devices_app"), "stocktake": ("stocktake", "stocktake_app"),
    "approvals": ("approvals", "approvals_app"), "policy": ("approvals", "policy_app"), "pin": ("approvals", "pin_app"),
    "destruction": ("destruction", "destruction_app"), "print-run": ("printrun", "printrun_app"),
    "meeting": ("meeting", "meeting_app"), "incident": ("incident", "incident_app"), "gate": ("watch", "gate_app"),
    "cabinet": ("watch", "cabinet_app"), "watch": ("watch", "watch_app"), "campaign": ("campaign", "campaign_app"),
    "incoming": ("transit", "incoming_app"), "package": ("transit", "package_app"),
    "transit": ("transit", "transit_app"),
}
# Top-level commands, in the order `tracker --help` lists them: (module under tracker.cli, the Typer holding them).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("system", "commands"), ("person", "commands"), ("circulation", "commands"), ("duties", "commands"),
    ("ledger", "commands"), ("approvals", "commands"), ("destruction", "endoflife_commands"),
    ("register", "commands"),
)

class Deferred(RuntimeParam):
    """Typer's coercion of a parameter, with Pydantic loaded only for a value that needs it.

    Typer 0.2x coerces a parameter's value through a Pydantic `TypeAdapter` it builds the first time the parameter is
    processed, even when no value was given (`--help` unused, an option left out): importing Pydantic and building
    the adapters was a sixth of `tracker carrier show`'s start-up (issue 22). No value stays None (the base class's
    rule, before any coercion); a text parameter's text is taken as it is (the adapter's `str(value)`); anything else
    goes to the coercion Typer would have built, so what a command receives never changes."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if self.annotation is str and isinstance(value, str):
            return value
        param._runtime_param = build_runtime_param(param.type_descriptor)
        return param._runtime_param._coerce_value(value, param=param, ctx=ctx)


def defer_coercion(command: Any) -> None:
    """Give every parameter of the command tree that has no coercion yet the `Deferred` one, the `--help` option
    each command makes while it parses too."""
    for param in command.params:
        _defer(param)
    command.get_help_option = _deferring(command.get_help_option)
    for sub in getattr(command, "commands", {}).values():
        defer_coercion(sub)


def _defer(param: Any) -> None:
    described = getattr(param, "type_descriptor", None)
    if described is not None and getattr(param, "_runtime_param", "") is None:
        param._runtime_param = Deferred(parameter_info=described.parameter_info, annotation=described.annotation)


def _deferring(get_help_option: Any) -> Any:
    def deferred(ctx: Any) -> Any:
        option = get_help_option(ctx)
        if option is not None:
            _defer(option)
        return option
    return deferred


class RootGroup(i18n.LocalizedGroup):
    """The application's root group: Chinese help and errors for --lang zh (`i18n.LocalizedGroup`), and plain text
    parameters coerced without loading Pydantic (`Deferred`)."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        defer_coercion(self)
        return super().main(args, *rest, **kwargs)


# The root group puts help pages and usage errors in Chinese for --lang zh (tracker.cli.i18n).
_SETTINGS: dict[str, Any] = dict(
    cls=RootGroup, no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="Register of classified carriers (涉密载体登记): custody ledger, circulation, stock-take, labels.")


def _typer(module: str, name: str) -> typer.Typer:
    found = getattr(importlib.import_module(f"tracker.cli.{module}"), name)
    assert isinstance(found, typer.Typer)
    return found


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


def build(groups: list[str] | None = None, commands: bool = True) -> typer.Typer:
    """The application with the named groups (all of them by default) and, unless told not to, the top-level
    commands."""
    built = typer.Typer(**_SETTINGS)
    built.callback()(main_callback)
    if commands:
        for module, name in COMMANDS:
            built.registered_commands.extend(_typer(module, name).registered_commands)
    for group in GROUPS if groups is None else groups:
        built.add_typer(_typer(*GROUPS[group]), name=group)
    return built


def __getattr__(name: str) -> Any:
    """`tracker.cli.app`: the whole application, built the first time it is asked for."""
    if name == "app":
        whole = globals()["app"] = build()
        return whole
    raise AttributeError(name)


def _print_labels(codes: list[str], rfid: bool) -> object:
    return importlib.import_module("tracker.cli.label").print_codes(codes=codes, rfid=rfid)


use_label_printer(_print_labels)


def for_argv(argv: list[str]) -> typer.Typer:
    """The application cut down to the one command or group `argv` names, for the console script.

    Typer reads the signature of every registered command before it runs any (about 85 of them, a fifth of a second):
    a command line runs one, so only its group is imported and built (the top-level commands are in a few modules,
    loaded together). `tracker --help` gets every group with only its help text (what the listing shows). A line this
    cannot read plainly (an unknown word, an option it does not know before the command) gets the whole app, so its
    error message is Typer's own.
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
            return build()
    if i >= len(argv):
        return build()
    if argv[i] in GROUPS:
        return build([argv[i]], commands=False)
    top = build([], commands=True)
    if any(_name(c) == argv[i] for c in top.registered_commands):
        return top
    return build()


def _name(command: Any) -> str:
    return str(command.name or typer.main.get_command_name(command.callback.__name__))


def _listing() -> typer.Typer:
    """`tracker --help`: the top-level commands, and every group as a name and its help."""
    whole = build()
    listing = typer.Typer(**_SETTINGS)
    listing.callback()(main_callback)
    for command in whole.registered_commands:
        assert command.callback is not None
        listing.command(_name(command), help=command.help or inspect.getdoc(command.callback), hidden=command.hidden,
                        short_help=command.short_help, deprecated=command.deprecated)(_nothing)
    for group in whole.registered_groups:
        assert group.typer_instance is not None
        listing.add_typer(typer.Typer(help=group.typer_instance.info.help), name=group.name)
    return listing


def _nothing() -> None:
    """Stands in for a command in the listing, which shows its help and never runs it."""


def main() -> None:
    try:
        for_argv(sys.argv[1:])()
    except KeyboardInterrupt:
        err.print(common.say("interrupted", "已中断"))
        sys.exit(130)
    finally:
        if state.store is not None:  # closes the register, after any checkpoint a bulk write left to its thread
            state.store.dispose()
