"""The command line's own words in Chinese: every `--help` page and the parser's usage errors, from the gettext
catalog `tracker/locale/zh/LC_MESSAGES/tracker_cli.mo` (compiled from its `.po` by `python -m tui.msgfmt`).

The commands' output is bilingual at its source (`common.say(en, zh)`); what is left is the text Typer and its
vendored Click print themselves: command and option help, "Usage:", section headings, "[default: …]" and the usage
errors ("No such option", "Missing argument", …). Typer 0.2x vendors Click as `typer._click`, whose messages are
f-strings that never pass through gettext, so translating them by installing a gettext domain is impossible; instead
the root group (`LocalizedGroup`, the app's `cls`) looks at the language before Click parses anything — `--lang` in
argv, else the settings' language exactly as `common.settings()` picks it (`TRACKER_LANG`, `lang` in tracker.toml,
the locale) — and, for Chinese only, (1) replaces the help strings of the freshly built command tree (Typer builds a
new one per invocation, so nothing leaks into the next), (2) gives every command a context whose help formatter
writes the headings, usage prefix and `[default: …]` notes from the catalog and wraps by display width, and
(3) re-shows a usage error with its message translated through the catalog's patterns
(`No such option: {name}` → `没有此选项：{name}`). English runs Typer untouched. The exit codes stay Click's (2).

English help strings in the code are the message ids (`inspect.cleandoc`-ed, as Click shows them); `messages(root)`
lists every one the app shows plus `FRAMEWORK` (Typer's and Click's own words), and tests/e2e/test_cli_zh_help.py
fails on any id without a Chinese entry. This module reads the catalog and argv only; it imports nothing heavy
(gettext, re and the typer classes the CLI has already imported) and must never import a command module.
"""

from __future__ import annotations

import gettext
import inspect
import os
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from typer._click import Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer._click.formatting import HelpFormatter
from typer._click.utils import echo
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "tracker_cli"

# Typer's and Click's own words as they are shown (the message ids of the catalog). A `{name}` is a placeholder:
# the pattern matches a whole message and the translation gets the same values (`{message}` is translated too).
FRAMEWORK: tuple[str, ...] = (
    "Usage:", "Options", "Arguments", "Commands", "[OPTIONS]", "COMMAND [ARGS]...", "Show this message and exit.",
    "default: {default}", "required", "env var: {var}",
    "Error: {message}", "Try '{command} {option}' for help.",
    "No such option: {name} (Possible options: {options})", "No such option: {name}",
    "No such command {name}. Did you mean {options}?", "No such command {name}.", "Missing command.",
    "Missing argument {name}. {message}", "Missing argument {name}.", "Missing option {name}. {message}",
    "Missing option {name}.", "Missing parameter: {name}",
    "Invalid value for {name}: {message}", "Invalid value: {message}",
    "Got unexpected extra argument(s) ({args})", "Option {name} requires an argument.",
    "Option {name} requires {count} arguments.", "Option {name} does not take a value.",
    "Argument {name} takes {count} values.", "Could not open file {name}: {message}",
    "{value} is not one of {choices}.", "Value {value} is not a valid {type}.", "Value must be an iterable.",
    "Input should be a valid integer, unable to parse string as an integer",
    "Input should be a valid number, unable to parse string as a number",
    "Input should be a valid integer, got a number with a fractional part",
    "Input should be a valid boolean, unable to interpret input",
    "Input should be greater than or equal to {limit}", "Input should be less than or equal to {limit}",
    "Input should be greater than {limit}", "Input should be less than {limit}",
    "Input should be {choices}", "Value error, {message}", "Aborted!",
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Catalog:
    """The Chinese words of the command line: exact help strings, and message patterns for the parser's errors."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        self.entries = {k: v for k, v in entries.items() if k and v}
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        # Longest first, so "No such option: {name} (Possible options: …)" wins over "No such option: {name}".
        for msgid in sorted((k for k in self.entries if _PLACEHOLDER.search(k)), key=len, reverse=True):
            parts = _PLACEHOLDER.split(msgid)  # literal, name, literal, name, …
            regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
            self.patterns.append((re.compile(regex + r"\Z", re.DOTALL), self.entries[msgid]))

    @classmethod
    def load(cls, lang: str) -> Catalog:
        # fallback=False: a missing compiled catalog is a packaging error that must show, not quietly English.
        translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])
        # The patterns need the ids, which GNUTranslations keeps in `_catalog` (as it has since Python 2) and
        # lists nowhere else; an empty catalog would show English, and the tests read the .po for completeness.
        return cls(getattr(translation, "_catalog", {}))

    def text(self, english: str) -> str:
        """A help string: its translation, else itself (the completeness test keeps this from happening)."""
        return self.entries.get(english) or self.entries.get(inspect.cleandoc(english), english)

    def message(self, english: str) -> str:
        """A message built by the parser from a pattern (values inside kept, a nested `{message}` translated)."""
        if english in self.entries:
            return self.entries[english]
        for regex, translation in self.patterns:
            found = regex.match(english)
            if found:
                values = {k: self.message(v) if k == "message" else v for k, v in found.groupdict().items()}
                return translation.format(**values)
        return english


# --- which language --------------------------------------------------------------------------------------------


def requested_language(args: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """The language of this invocation, before Click parses it: `--lang X` (or `--lang=X`) in argv, else the
    settings' (`TRACKER_LANG`, `lang` in tracker.toml, the locale) — the same order `common.settings()` follows."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    from tracker.config import load_settings
    from tracker.domain import DomainError

    try:
        return load_settings(os.environ if env is None else env).lang
    except (DomainError, OSError, ValueError):  # a broken tracker.toml is reported by the command itself
        return "en"


# --- the command tree ------------------------------------------------------------------------------------------


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group of the tree with the words that name it (the root is `()`)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def _help_of(command: Any) -> str | None:
    return inspect.cleandoc(command.help).partition("\f")[0] if command.help else None


def messages(root: Any) -> dict[str, str]:
    """Every message id the app shows, with where it is first seen (`carrier add --copy`): the framework's words,
    then each command's help, short help and epilog and each parameter's help."""
    found: dict[str, str] = dict.fromkeys(FRAMEWORK, "typer")
    for path, command in walk(root):
        where = " ".join(("tracker", *path))
        for text in (_help_of(command), command.short_help, command.epilog):
            if text:
                found.setdefault(inspect.cleandoc(text), where)
        for param in command.params:
            if getattr(param, "help", None):
                found.setdefault(inspect.cleandoc(param.help), f"{where} {param.opts[0] if param.opts else ''}")
    return found


def _short(text: str) -> str:
    """The commands list's one-line summary of a Chinese help text: its first sentence (up to a 。, or a ； outside
    brackets), cut to 46 columns with "…" (Click's own shortening counts words, which Chinese has no spaces
    between)."""
    depth, end = 0, len(text)
    for i, c in enumerate(text):
        depth += (c in "（(") - (c in "）)")
        if c == "。" or (c == "；" and depth <= 0) or text.startswith("\n\n", i):
            end = i
            break
    first = text[:end].strip()
    if _width(first) <= 48:
        return first
    cut = _cut(first, 46)
    if cut.count("`") % 2:  # never half a `command` in backticks
        cut = cut[:cut.rindex("`")].rstrip()
    return cut + "…"


def localize(root: Any, catalog: Catalog) -> None:
    """Put the catalog's words into a freshly built command tree (help, short help, metavars, formatter)."""
    context_class = _context_class(catalog)
    for _path, command in walk(root):
        english = _help_of(command)
        if english is not None:
            chinese = catalog.text(english)
            command.help = chinese
            if command.short_help is None and chinese != english:
                command.short_help = _short(chinese)
        if command.short_help:
            command.short_help = catalog.text(command.short_help)
        if command.epilog:
            command.epilog = catalog.text(command.epilog)
        for param in command.params:
            if getattr(param, "help", None):
                param.help = catalog.text(param.help)
        if command.options_metavar:
            command.options_metavar = catalog.text(command.options_metavar)
        if getattr(command, "subcommand_metavar", None):
            command.subcommand_metavar = catalog.text(command.subcommand_metavar)
        command.context_class = context_class


# --- the help formatter: headings, usage prefix, notes, wrapping by display width ------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(text: str, width: int) -> str:
    out, used = "", 0
    for c in text:
        used += _width(c)
        if used > width:
            break
        out += c
    return out


_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_CLOSING = "，。：；、）」』》！？”"
_OPENING = "（「『《“"
_TOKEN = re.compile(f"[{_OPENING}]*(?:[{_CJK}]|[^\\s{_CJK}]+)[{_CLOSING}]*|\\s+")
_JOIN = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


def wrap(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "") -> str:
    """Fill paragraphs to `width` display columns (indent included): a line may break before any Chinese character
    but never before a closing punctuation mark nor after an opening one, and a Latin word (an option, a code) is
    never broken."""
    paragraphs: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        indent = subsequent_indent if paragraphs else initial_indent
        line, used, space = indent, _width(indent), False
        lines: list[str] = []
        for token in _TOKEN.findall(_JOIN.sub("", " ".join(paragraph.split()))):
            if token.isspace():
                space = True
                continue
            gap = 1 if space and line.strip() else 0
            if line.strip() and used + gap + _width(token) > width:
                lines.append(line)
                line, used, gap = subsequent_indent, _width(subsequent_indent), 0
            line += " " * gap + token
            used += gap + _width(token)
            space = False
        lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _context_class(catalog: Catalog) -> type[Context]:
    class LocalizedFormatter(HelpFormatter):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            if prefix is None:  # "用法：" needs no space after its full-width colon
                prefix = catalog.text("Usage:")
                prefix += "" if prefix.endswith("：") else " "
            super().write_usage(prog, args, prefix)

        def write_heading(self, heading: str) -> None:
            self.write(f"{'':>{self.current_indent}}{catalog.text(heading)}：\n")

        def write_text(self, text: str) -> None:
            indent = " " * self.current_indent
            self.write(wrap(text, self.width, indent, indent) + "\n")

        def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
            rows = [(term, _note(catalog, text)) for term, text in rows]
            first_col = min(max((_width(t) for t, _ in rows), default=0), col_max) + col_spacing
            for term, text in rows:
                self.write(f"{'':>{self.current_indent}}{term}")
                if not text:
                    self.write("\n")
                    continue
                if _width(term) <= first_col - col_spacing:
                    self.write(" " * (first_col - _width(term)))
                else:
                    self.write("\n" + " " * (first_col + self.current_indent))
                lines = wrap(text, max(self.width - first_col - 2, 10)).splitlines() or [""]
                self.write(lines[0] + "\n")
                for line in lines[1:]:
                    self.write(" " * (first_col + self.current_indent) + line + "\n")

    class LocalizedContext(Context):
        formatter_class = LocalizedFormatter

    return LocalizedContext


_NOTE = re.compile(r"(?P<text>.*?)(?:\s*\[(?P<note>[^\[\]]*)\])?\Z", re.DOTALL)


def _note(catalog: Catalog, text: str) -> str:
    """An option's help with Typer's `[default: x; required]` note: both parts in Chinese (the help option's own
    "Show this message and exit." is made by Click at parse time, so it is translated here)."""
    found = _NOTE.match(text)
    if found is None or not found.group("note"):
        return catalog.text(text)
    notes = "；".join(catalog.message(n.strip()) for n in found.group("note").split(";"))
    body = catalog.text(found.group("text").strip())
    return f"{body}  [{notes}]" if body else f"[{notes}]"


# --- usage errors ----------------------------------------------------------------------------------------------


class LocalizedUsageError(UsageError):
    """A usage error shown in the catalog's language, with the original's exit code (2)."""

    def __init__(self, original: ClickException, catalog: Catalog) -> None:
        super().__init__(original.format_message(), getattr(original, "ctx", None))
        self.exit_code = original.exit_code
        self.catalog = catalog

    def show(self, file: Any = None) -> None:
        file = sys.stderr if file is None else file
        ctx, catalog = self.ctx, self.catalog
        if ctx is not None:
            hint = ""
            if ctx.command.get_help_option(ctx) is not None:
                hint = catalog.message(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.") + "\n"
            echo(f"{ctx.get_usage()}\n{hint}", file=file, color=ctx.color)
        echo(catalog.message(f"Error: {self.message}"), file=file, color=ctx.color if ctx else None)

    def format_message(self) -> str:
        return self.catalog.message(self.message)


class LocalizedGroup(TyperGroup):
    """The root group: picks the language from argv and settings before Click parses, and for Chinese translates
    the tree and the usage errors (see the module's docstring)."""

    catalog: Catalog | None = None

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        self.catalog = None
        if requested_language(argv) == "zh":
            self.catalog = Catalog.load("zh")
            localize(self, self.catalog)
        return super().main(argv, *rest, **kwargs)

    def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None,
                     **extra: Any) -> Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except ClickException as e:
            raise self._localized(e) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClickException as e:
            raise self._localized(e) from None
        except Abort:  # a prompt ended by Ctrl-D: Typer would say "Aborted!" and exit 1
            if self.catalog is None:
                raise
            echo(self.catalog.text("Aborted!"), err=True)
            raise Exit(1) from None

    def _localized(self, e: ClickException) -> ClickException:
        if self.catalog is None or isinstance(e, NoArgsIsHelpError | LocalizedUsageError):
            return e
        return LocalizedUsageError(e, self.catalog)
