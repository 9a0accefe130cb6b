"""The registers (台账) of RULES §4 for a period: declarative definitions (`definitions`), one read (`read`: the
query, the reader's permission, the audit-log entry), and one renderer per medium (`pdf`, `tables`).

`write` is the one way a printed register leaves the program; the command line and the TUI both call it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.domain import DomainError
from tracker.reports.registers.definitions import REGISTERS
from tracker.reports.registers.model import Column, Printed, Register

if TYPE_CHECKING:
    from tracker.services.common import Signed
    from tracker.store import UnitOfWork

FORMATS = ("pdf", "xlsx", "csv")

__all__ = ["FORMATS", "REGISTERS", "Column", "Printed", "Register", "read", "register_of", "write"]


def read(uow: UnitOfWork, reader: Signed, name: str, first: date, last: date, unit: str | None = None,
         lang: str = "zh", medium: str = "read") -> Printed:
    """`registers.reader.read`, imported when a register is read: the names and titles above are what `tracker --help`
    needs, and the reader pulls in the schema and the store (issue 22: start-up)."""
    from tracker.reports.registers.reader import read as read_register

    return read_register(uow, reader, name, first, last, unit, lang, medium)


def register_of(name: str) -> Register:
    from tracker.reports.registers.reader import register_of as find

    return find(name)


def write(printed: Printed, fmt: str, path: Path) -> Path:
    from tracker.reports.registers import pdf, tables

    if fmt == "pdf":
        return pdf.write_pdf(printed, path)
    if fmt == "xlsx":
        return tables.write_xlsx(printed, path)
    if fmt == "csv":
        return tables.write_csv(printed, path)
    raise DomainError(f"--format is one of {', '.join(FORMATS)}.", f"--format 只能是 {'、'.join(FORMATS)}。")
