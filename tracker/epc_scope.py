"""Which RFID tags are ours: the GS1 company prefix(es) of the register's own GIAI-96 tags, kept in the register
(table ``company_prefixes``) and recorded once, at ``tracker init``, from the configured prefix
(``$TRACKER_GS1_PREFIX``, several separated by commas; none by default, when our tags are GID-96 only).

Every place that turns a tag into a carrier — the counter, the handover screen, ``tracker label`` reading a tag
back, the stock-take reconciler — asks ``carrier_code_for_epc`` with the register's prefixes, so a tag under another
organisation's prefix is an unknown tag everywhere, never a carrier. The prefixes come from the register and not
from a client's configuration at scan time: a rule a client file could widen would not be a rule. This module never
changes a prefix once recorded (that would be a two-person policy change) and never decodes EPCs itself
(``labels.codes`` does).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from sqlalchemy import select

from labels.codes import DEFAULT_GID_MANAGER, EpcError, epc_to_carrier_code, validate_company_prefix
from tracker.domain import DomainError
from tracker.schema import CompanyPrefix, Person
from tracker.store import UnitOfWork

__all__ = ["ENV_VAR", "carrier_code_for_epc", "company_prefixes", "configured_prefixes", "record_company_prefixes",
           "stage_company_prefixes"]

ENV_VAR = "TRACKER_GS1_PREFIX"


def _valid(prefixes: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for p in prefixes:
        try:
            cp = validate_company_prefix(p)
        except EpcError as exc:
            raise DomainError(exc.message_en, exc.message_zh) from None
        if cp not in out:
            out.append(cp)
    return tuple(out)


def configured_prefixes(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The prefix(es) ``tracker init`` records: ``$TRACKER_GS1_PREFIX`` (comma-separated), else none."""
    raw = (os.environ if env is None else env).get(ENV_VAR, "")
    return _valid(p for p in raw.split(",") if p.strip())


def company_prefixes(uow: UnitOfWork) -> tuple[str, ...]:
    """The register's own company prefixes, sorted; empty when our tags are GID-96 only."""
    return tuple(uow.session.execute(select(CompanyPrefix.prefix).order_by(CompanyPrefix.prefix)).scalars())


def stage_company_prefixes(uow: UnitOfWork, prefixes: Iterable[str]) -> tuple[str, ...]:
    """Add the register's prefixes inside the caller's open transaction (``personnel.bootstrap`` at ``tracker
    init``), so they are recorded together with the first people or not at all: an init refused for any other
    reason must leave no prefix behind, or a mistyped prefix could never be corrected.

    Recording the same prefixes again changes nothing; any other change is refused, as is recording them in a
    register that already has people: a prefix decides which tags count as carriers, so it is fixed when the
    register is made, not by whoever runs a command later.
    """
    wanted = _valid(prefixes)
    existing = company_prefixes(uow)
    if existing or uow.session.execute(select(Person.id).limit(1)).first() is not None:
        if set(existing) == set(wanted) and existing:
            return existing
        raise DomainError(
            "The register's GS1 company prefixes are set when it is created (tracker init) and are not changed "
            f"afterwards; it has {', '.join(existing) or 'none'}.",
            "登记库的 GS1 厂商识别代码在创建时（tracker init）设定，之后不可更改；"
            f"当前为 {', '.join(existing) or '无'}。",
        )
    for p in wanted:
        uow.session.add(CompanyPrefix(prefix=p, added_at=uow.now()))
    uow.session.flush()
    return tuple(sorted(wanted))


def record_company_prefixes(uow: UnitOfWork, prefixes: Iterable[str]) -> tuple[str, ...]:
    """``stage_company_prefixes`` in a transaction of its own (a register made before its first people)."""
    with uow:
        out = stage_company_prefixes(uow, prefixes)
        uow.commit()
    return out


def carrier_code_for_epc(
    prefixes: UnitOfWork | Iterable[str], hex_epc: str, *, gid_manager: int = DEFAULT_GID_MANAGER
) -> str | None:
    """The carrier code a tag holds, or ``None`` for an unknown tag: GIAI-96 only under the register's prefixes
    (give the unit of work, or prefixes already read from it), GID-96 only under ``gid_manager``."""
    own = company_prefixes(prefixes) if isinstance(prefixes, UnitOfWork) else tuple(prefixes)
    return epc_to_carrier_code(hex_epc, own, gid_manager=gid_manager)
