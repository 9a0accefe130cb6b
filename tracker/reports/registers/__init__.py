"""The registers (台账) of RULES §4 for a period: declarative definitions (`definitions`), one read (`read`: the
query, the reader's permission, the audit-log entry), and one renderer per medium (`pdf`, `tables`).

`write` is the one way a printed register leaves the program; the command line and the TUI both call it.
"""

from __future__ import annotations

from pathlib import Path

from tracker.domain import DomainError
from tracker.reports.registers.definitions import REGISTERS
from tracker.reports.registers.model import Column, Printed, Register
from tracker.reports.registers.read import read, register_of

FORMATS = ("pdf", "xlsx", "csv")

__all__ = ["FORMATS", "REGISTERS", "Column", "Printed", "Register", "read", "register_of", "write"]


def write(printed: Printed, fmt: str, path: Path) -> Path:
    from tracker.reports.registers import pdf, tables

    if fmt == "pdf":
        return pdf.write_pdf(printed, path)
    if fmt == "xlsx":
        return tables.write_xlsx(printed, path)
    if fmt == "csv":
        return tables.write_csv(printed, path)
    raise DomainError(f"--format is one of {', '.join(FORMATS)}.", f"--format 只能是 {'、'.join(FORMATS)}。")
