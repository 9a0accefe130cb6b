"""What every `tracker` command module shares: settings and the open register, the operator's and counter-parties'
identification, bilingual messages, the documented exit codes, printing (tables, JSON) and option types.

Exit codes, the one contract of every command with or without `--json` (README "Exit codes" has the same table):
0 ok; 2 bad input or usage (an unreadable level, date or code, a wrong check character, a missing option); 3 refused
by a rule (rule ids printed), failed identification, or a check that found something wrong (a person still holding
carriers, a broken ledger); 4 not found (carrier, person, place, stock-take, device); 5 a label printer failed or is
not ready; 1 only for `devices test` seeing no read; 130 interrupted (Ctrl-C).
User data is printed as plain text, never as markup, and with its terminal control characters (ESC, CSI, OSC, BEL,
C1) written out visibly (`tracker.text.visible`): `out` and `err` are `LiteralConsole`s, so every string, Text and
table cell printed through them is shown literally. PINs are never echoed or logged.
This module owns no command and must never import a command module or `tracker.cli` itself: they all import it, so
anything two command modules need lives here (or lower, in the services), never in one of them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console, HighlighterType, JustifyMethod, OverflowMethod
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table
from rich.text import Text

from labels.codes import CheckCharacterError, normalize, parse_carrier_code
from tracker import config
from tracker.config import Settings, load_settings
from tracker.domain import DomainError, local_text, zone_label
from tracker.text import visible

if TYPE_CHECKING:  # the register's machinery (SQLAlchemy, the services) is imported by the commands that use it
    from sqlalchemy.exc import DBAPIError

    from drivers.device_config import DeviceConfig
    from tracker.services.common import Signed
    from tracker.store import Store, UnitOfWork


class LiteralConsole(Console):
    """A Rich console that shows text as the characters it holds: strings are never read as markup or emoji codes,
    and control characters in strings, Texts and table cells are escaped (`visible`), keeping only line feeds and
    tabs. A title whose OSC sequence would retitle the operator's window, or a code with ESC[2J that would clear
    the screen, prints as ``\\x1b]0;…`` instead. Styles are applied by Rich around the text, never from it."""

    def render_str(self, text: str, *, style: str | Style = "", justify: JustifyMethod | None = None,
                   overflow: OverflowMethod | None = None, emoji: bool | None = None, markup: bool | None = None,
                   highlight: bool | None = None, highlighter: HighlighterType | None = None) -> Text:
        return Text(visible(text, keep_newlines=True), style=style, justify=justify, overflow=overflow)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        kwargs["markup"] = False
        kwargs["emoji"] = False
        super().print(*(_literal(o) for o in objects), **kwargs)


def _literal(obj: Any) -> Any:
    if isinstance(obj, Text):
        shown = visible(obj.plain, keep_newlines=True)
        if shown != obj.plain:
            return Text(shown, style=obj.style, justify=obj.justify, overflow=obj.overflow, end=obj.end)
    return obj


out = LiteralConsole(highlight=False, soft_wrap=True)
err = LiteralConsole(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_NO_READ, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND, EXIT_PRINTER, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130
T = TypeVar("T")

# Options many commands take, spelled once so their flags and help cannot drift apart between commands.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
ApprovalNumber = Annotated[int | None, typer.Option(help="Approval number (审批号) from `tracker approve`.")]


class _State:
    settings: Settings | None = None
    store: Store | None = None
    lang: str = "en"


state = _State()


def settings() -> Settings:
    if state.settings is None:
        try:
            state.settings = load_settings()
        except DomainError as e:
            fail(EXIT_USAGE, e.en, e.zh)
        cost = (state.settings.argon2_time_cost, state.settings.argon2_memory_kib)
        services = sys.modules.get("tracker.services.common")
        if services is not None:
            services.configure_hasher(*cost)
        else:  # taken up when the services are imported: a command that checks no PIN never loads them
            config.pin_hash_cost = cost
        state.lang = state.lang or state.settings.lang
    return state.settings


def store() -> Store:
    if state.store is None:
        from sqlalchemy.exc import DBAPIError

        from tracker.store import Store

        s = settings()
        state.store = Store(s.database_url, terminal=s.terminal)
        for warning in state.store.warnings:  # a register file other local users can read: say so, every time
            err.print(Text(warning.message(state.lang or s.lang)), style="bold yellow")
        try:
            state.store.ensure_schema()
        except DomainError as e:
            fail(EXIT_USAGE, e.en, e.zh)
        except DBAPIError as e:
            cannot_open(s.database_url, e)
    return state.store


def cannot_open(url: str, e: DBAPIError) -> NoReturn:
    """The register's database cannot be reached or opened (server down, wrong host, no such file): said plainly
    with the address (never its password) and the driver's reason, exit 2, no traceback."""
    reason = str(e.orig).strip().splitlines()[0] if str(e.orig).strip() else type(e.orig).__name__
    fail(EXIT_USAGE, f"Cannot open the register at {_safe_url(url)}: {reason}",
         f"无法打开登记库 {_safe_url(url)}：{reason}")


def _safe_url(url: str) -> str:
    """Never print a database password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def say(en: str, zh: str) -> str:
    return zh if state.lang == "zh" else en


def fail(code: int, en: str, zh: str) -> NoReturn:
    err.print(Text(visible(say(en, zh), keep_newlines=True)), style="bold red")
    raise typer.Exit(code)


def run(fn: Callable[[], T]) -> T:
    """Turn the register's errors into the documented exit codes and bilingual messages (never a traceback)."""
    from tracker.services.common import AuthError, NotFound, Refused

    try:
        return fn()
    except Refused as e:
        err.print(Text(say("Refused", "拒绝") + f" [{', '.join(e.rules)}]"), style="bold red")
        for v in e.violations:
            err.print(Text(v.message(state.lang)))
        raise typer.Exit(EXIT_REFUSED) from None
    except NotFound as e:
        fail(EXIT_NOT_FOUND, e.en, e.zh)
    except AuthError as e:
        fail(EXIT_REFUSED, e.en, e.zh)
    except DomainError as e:
        fail(EXIT_USAGE, e.en, e.zh)


def check_codes(*codes: str) -> None:
    """A carrier code typed or scanned with a wrong check character is bad input (exit 2) that names the character,
    never "no such carrier" (exit 4): the code was misread or mistyped, and saying so is what the clerk can act on.
    Anything else (an EPC, a code of another shape) is left to the look-up."""
    for text in codes:
        code = normalize(text)
        try:
            parse_carrier_code(code)
        except CheckCharacterError:
            fail(EXIT_USAGE, f"{code}: the check character {code[-1]!r} does not match {code[:-1]}; the code was "
                             "misread or mistyped — scan or type it again.",
                 f"{code}：校验位 {code[-1]!r} 与 {code[:-1]} 不符，编号被误读或输错，请重新扫描或输入。")
        except ValueError:
            pass


# --- identification -----------------------------------------------------------------------------------------------


def read_pin(prompt: str, env_name: str) -> str:
    pin = os.environ.get(env_name)
    if pin is not None:
        return pin
    if not sys.stdin.isatty():
        fail(EXIT_USAGE, f"{prompt}: no terminal to ask on; set {env_name}.",
             f"{prompt}：无法提示输入，请设置 {env_name}。")
    return str(typer.prompt(prompt, hide_input=True))


def operator() -> Signed:
    """The operator signs every change (badge + PIN)."""
    badge = os.environ.get("TRACKER_OPERATOR")
    if not badge:
        if not sys.stdin.isatty():
            fail(EXIT_USAGE, "No operator: set TRACKER_OPERATOR and TRACKER_PIN.",
                 "未指定操作员：请设置 TRACKER_OPERATOR 和 TRACKER_PIN。")
        badge = str(typer.prompt(say("Operator badge", "操作员工号")))
    pin = read_pin(say(f"PIN for {badge}", f"{badge} 的PIN"), "TRACKER_PIN")
    settings()
    from tracker.services.common import authenticate

    return run(lambda: authenticate(store().uow(), badge, pin))


def party(badge: str, role: str) -> Signed:
    """A counter-party signs too (borrower, giver, taker, companion): TRACKER_<ROLE>_PIN for scripts."""
    pin = read_pin(say(f"PIN for {role} {badge}", f"{role} {badge} 的PIN"), f"TRACKER_{role.upper()}_PIN")
    settings()
    from tracker.services.common import authenticate

    return run(lambda: authenticate(store().uow(), badge, pin))


def parse_when(text: str | None) -> datetime | None:
    """ISO date-time (local time of the unit when no zone is given), or +Nh / +Nd from now, or -Nh / -Nd before
    now (the audit log's and the registers' "since")."""
    if not text:
        return None
    t = text.strip()
    from tracker.store import current_time  # the suite installs its clock here (tests/support/suite_clock)

    now = current_time()
    if t[:1] in ("+", "-") and t[-1] in "hdm" and t[1:-1].isdigit():
        n = int(t[1:-1]) * (-1 if t[0] == "-" else 1)
        return now + {"h": timedelta(hours=n), "d": timedelta(days=n), "m": timedelta(minutes=n)}[t[-1]]
    try:
        moment = datetime.fromisoformat(t)
    except ValueError:
        fail(EXIT_USAGE, f"Cannot read the time {text!r}: use 2026-11-25T17:00, +4h / +2d or -24h.",
             f"无法识别时间 {text!r}：请使用 2026-11-25T17:00、+4h / +2d 或 -24h。")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=store().policy.tz)
    return moment


def ensure_lang() -> None:
    """The language of this invocation: --lang, else the settings' (read at the first command that needs it)."""
    if not state.lang:
        state.lang = settings().lang


def when(moment: datetime | str | None, zone: bool = False) -> str:
    """A time for a person: the register's local time (the policy's zone) to the minute; JSON keeps ISO 8601."""
    return local_text(moment, store().time_zone(), zone)


def zone() -> str:
    """The zone the tables' times are in, for their headers (`due (UTC+08:00)`)."""
    return zone_label(store().time_zone())


# --- printing -----------------------------------------------------------------------------------------------------


def print_json(data: Any) -> None:
    """JSON for scripts, readable Chinese and all: JSON escapes C0 itself; C1 and the Unicode line separators are
    written as \\u escapes too, so the output stays valid JSON and never drives a terminal."""
    text = json.dumps(data, ensure_ascii=False, default=str, indent=2)
    out.print(Text(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


_TOKEN = re.compile(r"[A-Za-z0-9_:./+-]{1,48}")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table for people. A code (carrier, place, badge, EPC) is one word that is never broken: a column is never
    narrower than its longest such word, and when the output is not a terminal (piped, redirected) the table takes
    the width it needs, so `grep BJ-000002Q` finds every row. Every cell is shown literally (`visible`)."""
    cells = [["" if v is None else visible(str(v)) for v in r] for r in rows]
    t = Table(title=Text(visible(title)), title_justify="left")
    for i, c in enumerate(columns):
        words = [v for r in cells if i < len(r) for v in (r[i],) if _TOKEN.fullmatch(v)]
        t.add_column(c, overflow="fold", min_width=max((len(w) for w in words), default=None))
    for r in cells:
        t.add_row(*[Text(v) for v in r])
    if out.is_terminal:
        out.print(t)
    else:
        natural = Measurement.get(out, out.options.update_width(10_000), t).maximum
        LiteralConsole(file=out.file, width=max(out.width, natural), highlight=False).print(t)


def list_rows(fetch: Callable[[UnitOfWork], list[dict[str, Any]]], title: tuple[str, str], columns: list[str],
              as_json: bool) -> None:
    """A register list read in one read-only transaction: JSON for scripts, else a table whose columns follow the
    rows' keys in order (so `columns` only names them for people)."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        rows = fetch(uow)
    if as_json:
        print_json(rows)
        return
    table(say(*title), columns, [list(r.values()) for r in rows])


# --- wiring between command groups --------------------------------------------------------------------------------


LabelPrinter = Callable[[list[str], bool], object]
_label_printer: list[LabelPrinter] = []


def use_label_printer(printer: LabelPrinter) -> None:
    """`tracker.cli` (the composition root) hands over the label commands' printing, so `carrier add --print` can
    print without the carrier commands importing the label commands."""
    _label_printer[:] = [printer]


def print_labels(codes: list[str], rfid: bool) -> None:
    """Labels for carriers just registered, through `tracker label print` with its defaults ($TRACKER_LABEL_PRINTER…).

    The registration is already committed: a printer fault exits 5 and the labels can be printed again later."""
    if not _label_printer:
        fail(EXIT_PRINTER, "Label printing is not available here.", "此处无法打印标签。")
    _label_printer[0](codes, rfid)


# --- device configuration (`tracker devices`, `tracker stocktake live`) --------------------------------------------


def echo(message: str) -> None:
    """A plain line for the device commands (no Rich), with what a device sent shown literally: a barcode can carry
    an ESC sequence as easily as a title can."""
    typer.echo(visible(message, keep_newlines=True))


def device_fail(message: str, code: int = 2) -> typer.Exit:
    """A device or configuration fault, said plainly for the device commands (which work with no register)."""
    typer.echo(f"error: {visible(message, keep_newlines=True)}", err=True)
    return typer.Exit(code)


def config_file(config: Path | None = None) -> Path:
    """The file the devices come from: the one given, else the one the register's settings are read from (so
    `tracker devices`, the counter and `stocktake live` can never disagree), else ./tracker.toml (absent: no
    devices)."""
    if config is not None:
        return config
    from tracker.config import config_file as settings_file

    try:
        found = settings_file(os.environ)
    except DomainError as exc:
        raise device_fail(f"{exc.en} / {exc.zh}") from None
    return found or Path("tracker.toml")


def load_configured(config: Path | None = None) -> list[DeviceConfig]:
    """The configured devices; a broken table is raised as ConfigError naming the file, device and key."""
    from drivers.scanners.config import load_devices

    return load_devices(config_file(config))
