"""The Chinese catalog covers every message the counter shows, and the committed .mo matches its .po."""

from __future__ import annotations

import gettext
import io

import pytest

from tui import i18n
from tui.msgfmt import PoError, catalogs, compile_mo, extract_messages, parse_po


def test_every_message_has_a_chinese_translation() -> None:
    po = next(p for p in catalogs() if p.parts[-3] == "zh")
    translated = parse_po(po.read_text(encoding="utf-8"))
    missing = [m for m in extract_messages() if m not in translated]
    assert not missing, f"untranslated in {po}: {missing}"


def test_committed_mo_is_compiled_from_the_po() -> None:
    for po in catalogs():
        assert po.with_suffix(".mo").read_bytes() == compile_mo(parse_po(po.read_text(encoding="utf-8"))), \
            f"{po.with_suffix('.mo')} is stale: run python -m tui.msgfmt"


def test_compiled_catalog_reads_back_with_gettext() -> None:
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", "Check-out": "借出", 'say "hi"\n': "说“你好”\n"}
    catalog = gettext.GNUTranslations(io.BytesIO(compile_mo(entries)))
    assert catalog.gettext("Check-out") == "借出"
    assert catalog.gettext('say "hi"\n') == "说“你好”\n"
    assert catalog.gettext("unknown") == "unknown"


def test_po_parser_handles_continuations_and_fuzzy_and_rejects_garbage() -> None:
    text = '\n'.join(['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8\\n"', '',
                      'msgid "a"', '"b"', 'msgstr "甲"', '"乙"', '',
                      '#, fuzzy', 'msgid "c"', 'msgstr "丙"', '', 'msgid "d"', 'msgstr ""'])
    assert parse_po(text) == {"": "Content-Type: text/plain; charset=UTF-8\n", "ab": "甲乙"}
    with pytest.raises(PoError):
        parse_po('msgid "a"\nmsgstr unquoted')


def test_languages_switch_and_fall_back() -> None:
    try:
        assert i18n.set_language("zh") == "zh" and i18n._("Check-out") == "借出"
        assert i18n.pick("en", "zh") == "zh"
        assert i18n.set_language("fr") == "en" and i18n._("Check-out") == "Check-out"
    finally:
        i18n.set_language("en")
