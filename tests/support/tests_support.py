"""Small helpers shared by the tests (importable because pytest puts tests/support on the path): the integration
tests' look-ups and races, and the command-line tests' demo register and environment."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tracker.demo import DEMO_PIN, badge
from tracker.schema import Carrier, Event
from tracker.services import approvals
from tracker.services.common import Signed
from tracker.store import Store


@dataclass
class Clock:
    """A settable clock for the register, so due times and approval windows are tested without sleeping."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # 10:00 in Beijing

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def approve(store: Store, approver: Signed, purpose: str, *codes: str, grantee: str | None = None,
            copies: int | None = None, hours: int = 4, requested_by: str | None = None) -> int:
    """An approval granted at once. A loan or carry-out approval names the person it is for (the register refuses
    one for nobody): the demo's reader_important unless `grantee` says otherwise."""
    if grantee is None and purpose in ("loan", "carry_out"):
        grantee = badge("reader_important")
    return approvals.grant(store.uow(), approver, purpose, list(codes), store.clock() + timedelta(hours=hours),
                           grantee=grantee, copies=copies, requested_by=requested_by or badge("clerk"))


def insert_carriers(store: Store, rows: list[dict[str, object]]) -> None:
    """Carriers written straight into the table with the ids, codes, titles and document numbers given (`id`,
    `code`, `title`, `doc`), all in store on the first shelf: registers shaped for a search test, where registering
    hundreds of thousands of ids apart would take minutes. The search's triggers index them as any writer's rows."""
    with store.engine.begin() as conn:
        location = conn.execute(text("SELECT id FROM locations WHERE kind = 'shelf' ORDER BY id")).scalar()
        now = store.clock()
        conn.execute(Carrier.__table__.insert(), [
            {"id": r["id"], "code": r["code"], "kind": "paper", "regime": "state", "classification": "internal",
             "title": r["title"], "doc_number": r["doc"], "location_id": location, "status": "in_store",
             "registered_at": now, "updated_at": now} for r in rows])


def count_events(store: Store) -> int:
    with store.uow(readonly=True) as uow:
        return int(uow.session.execute(select(func.count(Event.seq))).scalar_one())


def state_of(store: Store, code: str) -> tuple[str, str | None, str | None]:
    with store.uow(readonly=True) as uow:
        c = uow.session.execute(select(Carrier).where(Carrier.code == code)).unique().scalar_one()
        return c.status, c.holder.badge if c.holder else None, c.location.code if c.location else None


def race_check_out(url: str, code: str, approval_id: int, barrier: object, results: object, clock: Clock) -> None:
    """One terminal of a check-out race; run in its own process (SQLite) or thread (PostgreSQL).

    Every racer judges the approval on the suite's clock (a picklable `Clock`): built on the wall clock, a racer
    found the approval granted on the fixed clock expired once the calendar passed it, and both lost with R-63."""
    from tracker.demo import badge
    from tracker.services import circulation
    from tracker.services.common import Refused, authenticate, configure_hasher

    configure_hasher(1, 8)
    store = Store(url, terminal=f"race-{id(barrier)}", clock=clock)
    clerk = authenticate(store.uow(), badge("clerk"), "482916")
    reader = authenticate(store.uow(), badge("reader_important"), "482916")
    barrier.wait()  # type: ignore[attr-defined]
    try:
        circulation.check_out(store.uow(), clerk, code, reader, approval_id=approval_id)
        results.put("won")  # type: ignore[attr-defined]
    except Refused as e:
        results.put("refused:" + ",".join(e.rules))  # type: ignore[attr-defined]
    finally:
        store.dispose()


# --- the command line ---------------------------------------------------------------------------------------------

# What every CLI test runs with: no config file, cheap PIN hashing, English, and the demo clerk as the operator.
CLI_ENV = {
    "TRACKER_CONFIG": "",
    "TRACKER_ARGON2_TIME_COST": "1",
    "TRACKER_ARGON2_MEMORY_KIB": "8",
    "TRACKER_LANG": "en",
    "TRACKER_OPERATOR": badge("clerk"),
    "TRACKER_PIN": DEMO_PIN,
}
CLI_REGISTER = "r.sqlite"


def make_cli_demo(directory: Path, carriers: int = 60) -> Path:
    """A demo register made through `tracker demo` itself, so CLI tests start from what an operator would have.
    Building one takes seconds: make it once (a session fixture) and give each test a copy (`use_cli_demo`)."""
    from typer.testing import CliRunner

    from tracker.cli import app
    from tracker.cli.common import state

    url = f"sqlite:///{directory / CLI_REGISTER}"
    result = CliRunner().invoke(app, ["demo", "--carriers", str(carriers)],
                                env={**CLI_ENV, "TRACKER_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    if state.store is not None:  # the CLI keeps its store for the next command; closing it checkpoints the WAL
        state.store.dispose()
        state.store = None
    return directory / CLI_REGISTER


def use_cli_demo(register: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: str) -> dict[str, str]:
    """Point the environment at a private copy of the demo register, so a test may change it freely; the current
    directory becomes `tmp_path` so files a command writes stay there. Returns the variables set."""
    shutil.copyfile(register, tmp_path / CLI_REGISTER)
    (tmp_path / CLI_REGISTER).chmod(0o600)  # as `tracker` makes a register: a looser copy is reported on every command
    tmp_path.chmod(0o700)
    values = {**CLI_ENV, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / CLI_REGISTER}", **extra}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    return values


def invoke(*args: str, **env: str) -> tuple[int, str]:
    """Run `tracker ARGS` in-process; `env` overrides variables for this one command (another operator, a PIN)."""
    from typer.testing import CliRunner

    from tracker.cli import app

    result = CliRunner().invoke(app, list(args), env=env or None)
    return result.exit_code, result.output
