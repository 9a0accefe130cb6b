"""Backup and restore of the whole register, each copy checked by `ledger verify` before anyone relies on it.

A backup is one consistent snapshot taken while the counters go on writing: on SQLite through SQLite's online backup
API (one step, inside one read transaction, so a check-out committed meanwhile is either wholly in the copy or not
at all), on PostgreSQL through `pg_dump` (one REPEATABLE READ snapshot). The copy is written private (0600) beside
its final name and renamed into place only when complete. A restore first verifies the copy — the hash chain, the
replay against its own tables, the anchors the register being replaced has sealed (up to the copy's head: a copy
made before a seal is simply older) and, when given, an anchor from the paper record — in a scratch copy, and
replaces the register only if all of that holds, in one step (SQLite's backup API into the live file; `pg_restore
--single-transaction`). A tampered or truncated copy is refused and the register is left exactly as it was.

This module never decides that a copy is good without verifying it, never overwrites an existing backup file and
never puts a password on a command line (PostgreSQL tools get it through PGPASSWORD). Command-line wiring lives in
the CLI; the messages here are ready for it in English and Chinese.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from tracker.domain import DomainError
from tracker.ledger import VerifyReport, verify
from tracker.store import FILE_MODE, Store, create_private, grant_app_role, make_engine, sqlite_path


class BackupError(DomainError):
    """The backup or restore could not be made (a file, a tool, the server): nothing was replaced."""


class BackupMissing(BackupError):
    """The backup file to restore from does not exist."""


class RestoreRefused(DomainError):
    """The copy did not verify (or did not match the anchor): the register was left as it was."""


@dataclass(frozen=True)
class Receipt:
    """What a backup wrote or a restore put in place: the file and the chain head it holds, verified."""

    file: str
    head_seq: int
    head_hash: str
    events: int
    size: int
    report: VerifyReport

    def message(self, lang: str = "en", restored: bool = False, source: str | None = None) -> str:
        """`restored`: this receipt is of the register a restore replaced (`file`), from the backup `source`."""
        if lang == "zh":
            what = (f"已从备份 {source} 恢复登记库" if restored and source else
                    "已恢复登记库" if restored else "备份已写入")
            return (f"{what}：{self.file}（{self.size} 字节），台账共 {self.events} 条事件，"
                    f"链头 {self.head_seq}:{self.head_hash}，已核验。")
        what = f"Register restored from {source}:" if restored and source else \
            "Register restored:" if restored else "Backup written to"
        return (f"{what} {self.file} ({self.size} bytes): {self.events} events, head "
                f"{self.head_seq}:{self.head_hash}, verified.")


def _url(url: str | URL) -> URL:
    return make_url(url) if isinstance(url, str) else url


def _engine(u: URL) -> Engine:
    # SQLite: a plain engine, which neither creates files nor turns a scratch copy's journal to WAL
    return create_engine(u) if u.get_backend_name() == "sqlite" else make_engine(u.render_as_string(False))


def live_seals(url: str | URL) -> list[tuple[int, str]]:
    """The anchors sealed in the register a restore would replace (none when there is no register there yet)."""
    u = _url(url)
    path = sqlite_path(u)
    if path is not None:
        if not path.exists():
            return []
        u = make_url(f"sqlite:///file:{path}?mode=ro&uri=true")
    engine = _engine(u)
    try:
        with engine.connect() as conn:
            return [(int(q), str(h)) for q, h in conn.execute(text("SELECT seq, hash FROM seals"))]
    except DBAPIError:
        return []  # no register there, or not one this version can read: nothing to hold the copy to
    finally:
        engine.dispose()


def _verify_url(url: str | URL, anchors: Sequence[tuple[int, str]] = (),
                seals: Sequence[tuple[int, str]] = ()) -> VerifyReport:
    """Verify a register; `seals` (the replaced register's) are held against it up to its own head: a copy must pass
    through every head sealed before it was made, or it is not a copy of this register's history."""
    engine = _engine(_url(url))
    try:
        with engine.connect() as conn:
            head = int(conn.execute(text("SELECT seq FROM chain_head")).scalar_one())
            return verify(conn, [*anchors, *((q, h) for q, h in seals if q <= head)])
    except DBAPIError as e:
        raise RestoreRefused(f"The copy cannot be read as a register: {type(e.orig).__name__}: {e.orig}",
                             f"该副本无法作为登记库读取：{type(e.orig).__name__}：{e.orig}") from e
    finally:
        engine.dispose()


def _refuse(report: VerifyReport, what_en: str, what_zh: str) -> RestoreRefused:
    return RestoreRefused(f"{what_en} does not verify; nothing was replaced. {report.message('en')}",
                          f"{what_zh}未通过核验，未替换任何数据。{report.message('zh')}")


def _new_file(file: Path) -> Path:
    if file.exists():
        raise BackupError(f"{file} already exists; a backup never overwrites one. Choose a new name.",
                          f"{file} 已存在；备份不会覆盖已有文件，请换一个文件名。")
    partial = file.with_name(f".{file.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    create_private(partial)
    return partial


def _sqlite_copy(source: Path, target: Path, readonly_source: bool) -> None:
    """Copy a SQLite database page by page in one step (one consistent snapshot of `source`) into `target`."""
    src = sqlite3.connect(f"file:{source}?mode=ro" if readonly_source else str(source), uri=readonly_source,
                          timeout=30)
    try:
        dst = sqlite3.connect(str(target), timeout=30)
        try:
            src.backup(dst)
            if readonly_source:
                return
            # a file on its own: no -wal to carry around beside it
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.DatabaseError as e:
        if not readonly_source:  # backing up: the register could not be read or the copy not written
            raise BackupError(f"The copy of {source} could not be made: {e}", f"无法复制 {source}：{e}") from e
        raise RestoreRefused(f"{source} is not a register copy SQLite can read: {e}",
                             f"{source} 不是 SQLite 可读取的登记库副本：{e}") from e
    finally:
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _receipt(file: Path, report: VerifyReport) -> Receipt:
    return Receipt(str(file), report.head_seq, report.head_hash, report.checked, file.stat().st_size, report)


# --- SQLite -------------------------------------------------------------------------------------------------------


def _sqlite_backup(path: Path, file: Path) -> Receipt:
    if not path.exists():
        raise BackupError(f"There is no register at {path}.", f"{path} 处没有登记库。")
    partial = _new_file(file)
    try:
        _sqlite_copy(path, partial, readonly_source=False)
        report = _verify_url(f"sqlite:///file:{partial}?mode=ro&uri=true")
        _fsync(partial)
        os.replace(partial, file)
        _fsync(file.parent)
    finally:
        partial.unlink(missing_ok=True)
    return _receipt(file, report)


def _upgrade_copy(url: str) -> None:
    """Bring a scratch copy made by an older version to this version's schema before verifying it."""
    store = Store(url)
    try:
        if store.current_revision() != store.head_revision():
            store.upgrade()
    except Exception as e:  # a copy from a newer version, or no register at all
        raise RestoreRefused(f"The copy's schema cannot be brought to this version's: {e}",
                             f"该副本的数据库结构无法升级到本版本：{e}") from e
    finally:
        store.dispose()


def _sqlite_restore(file: Path, path: Path, anchors: Sequence[tuple[int, str]]) -> Receipt:
    scratch = path.with_name(f".{path.name}.restore-{os.getpid()}")
    scratch.unlink(missing_ok=True)
    create_private(scratch)
    try:
        _sqlite_copy(file, scratch, readonly_source=True)
        _upgrade_copy(f"sqlite:///{scratch}")
        report = _verify_url(f"sqlite:///{scratch}", anchors, live_seals(f"sqlite:///{path}"))
        if not report.ok:
            raise _refuse(report, f"The copy {file}", f"副本 {file} ")
        create_private(path)
        src = sqlite3.connect(str(scratch))
        try:
            dst = sqlite3.connect(str(path), timeout=30)
            try:
                dst.execute("PRAGMA busy_timeout=30000")
                src.backup(dst)  # into the live file under its own lock: other terminals see all of it or none
            finally:
                dst.close()
        finally:
            src.close()
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    os.chmod(path, FILE_MODE)
    return _receipt(path, _verify_url(f"sqlite:///{path}"))


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def find_pg_tool(name: str) -> str | None:
    """pg_dump / pg_restore: the newest of Debian's versioned installs, else the one on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[-3]))
    return found[-1] if found else shutil.which(name)


def _pg_run(tool: str, args: list[str], url: URL) -> None:
    path = find_pg_tool(tool)
    if path is None:
        raise BackupError(f"{tool} is not installed (Debian package postgresql-client): PostgreSQL registers are "
                          "backed up and restored with it.",
                          f"未安装 {tool}（Debian 软件包 postgresql-client），PostgreSQL 登记库的备份与恢复需要它。")
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run([path, *args, f"--dbname={libpq}"], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise BackupError(f"{tool} failed: {detail}", f"{tool} 执行失败：{detail}")


def _admin(url: URL) -> URL:
    return url.set(database="postgres")


def _pg_backup(url: URL, file: Path) -> Receipt:
    """`pg_dump` of a snapshot this connection exports and verifies itself, so the receipt speaks of exactly what the
    dump holds — and the counters' own role can take it: no scratch database (CREATEDB) is needed, which only the
    owner has. A restore still restores the dump into a scratch database and verifies it there before it replaces
    anything."""
    partial = _new_file(file)
    engine = make_engine(url.render_as_string(False))
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            _pg_run("pg_dump", ["--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={partial}"],
                    url)
            os.chmod(partial, FILE_MODE)
            report = verify(conn, workers=1)  # in the exported snapshot: other processes would not share it
        _fsync(partial)
        os.replace(partial, file)
        _fsync(file.parent)
    finally:
        partial.unlink(missing_ok=True)
        engine.dispose()
    return _receipt(file, report)


def _pg_check(url: URL, file: Path, anchors: Sequence[tuple[int, str]],
              seals: Sequence[tuple[int, str]] = ()) -> VerifyReport:
    """Restore the dump into a scratch database beside the register and verify it there."""
    scratch = f"{url.database}_verify_{os.getpid()}"
    base = make_engine(_admin(url).render_as_string(False))
    admin = base.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
            c.execute(text(f'CREATE DATABASE "{scratch}" TEMPLATE template0'))
        try:
            _pg_run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", str(file)],
                    url.set(database=scratch))
        except BackupError as e:
            raise RestoreRefused(f"The dump cannot be restored as a register: {e.en}",
                                 f"该转储无法恢复为登记库：{e.zh}") from e
        _upgrade_copy(url.set(database=scratch).render_as_string(hide_password=False))
        return _verify_url(url.set(database=scratch), anchors, seals)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        base.dispose()


def _pg_restore(file: Path, url: URL, anchors: Sequence[tuple[int, str]], app_role: str | None) -> Receipt:
    report = _pg_check(url, file, anchors, live_seals(url))
    if not report.ok:
        raise _refuse(report, f"The dump {file}", f"转储 {file} ")
    _pg_run("pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                           "--exit-on-error", str(file)], url)
    if app_role is not None:
        grant_app_role(url.render_as_string(hide_password=False), app_role, None)
    return _receipt(file, _verify_url(url))


def _os_error(e: OSError) -> BackupError:
    where = e.filename or ""
    return BackupError(f"Cannot write {where}: {e.strerror}; nothing was replaced.",
                       f"无法写入 {where}：{e.strerror}；未替换任何数据。")


def _db_error(e: DBAPIError, outcome_en: str, outcome_zh: str) -> BackupError:
    """The server could not be reached, or refused this role something: said in one line, never a traceback."""
    detail = (str(e.orig).strip().splitlines() or [type(e.orig).__name__])[0]
    return BackupError(f"The register's database refused or did not answer ({detail}); {outcome_en}.",
                       f"登记库数据库拒绝或无响应（{detail}）；{outcome_zh}。")


# exit statuses for `tracker backup` / `tracker restore` (the CLI's EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND)
EXIT_OK, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND = 0, 2, 3, 4


def exit_status(error: DomainError | None = None, receipt: Receipt | None = None) -> int:
    """What the command exits with: a copy that does not verify or a refused restore is 3, a missing backup file 4,
    any other failure (a file that exists, a tool that is missing, a directory not writable) 2."""
    if isinstance(error, RestoreRefused):
        return EXIT_REFUSED
    if isinstance(error, BackupMissing):
        return EXIT_NOT_FOUND
    if error is not None:
        return EXIT_USAGE
    return EXIT_OK if receipt is None or receipt.report.ok else EXIT_REFUSED


# --- the two entry points -----------------------------------------------------------------------------------------


def backup(url: str, file: str | Path) -> Receipt:
    """Write a verified, private copy of the register at `url` to `file` (which must not exist yet).

    The receipt's report says whether the copy verified; a register that does not verify is still copied (the copy
    is the evidence), and the caller shows the report and exits non-zero."""
    target = Path(file)
    u = _url(url)
    path = sqlite_path(u)
    try:
        if path is not None:
            return _sqlite_backup(path, target)
        if u.get_backend_name() == "postgresql":
            return _pg_backup(u, target)
    except OSError as e:  # the backup's directory: missing, not writable, full
        raise _os_error(e) from e
    except DBAPIError as e:
        raise _db_error(e, "nothing was written", "未写入任何文件") from e
    raise BackupError(f"Cannot back up a {u.get_backend_name()} database.", f"无法备份 {u.get_backend_name()} 数据库。")


def restore(file: str | Path, url: str, anchor: tuple[int, str] | None = None,
            app_role: str | None = None) -> Receipt:
    """Replace the register at `url` with the copy in `file`, only after the copy verifies (and passes `anchor`).

    On PostgreSQL `url` must be the owner role's (it drops and recreates the tables); `app_role`, when given, gets
    its grants back afterwards (`tracker.store.grant_app_role`)."""
    source = Path(file)
    if not source.is_file():
        raise BackupMissing(f"There is no backup file {source}.", f"备份文件 {source} 不存在。")
    anchors = [anchor] if anchor is not None else []
    u = _url(url)
    path = sqlite_path(u)
    try:
        if path is not None:
            return _sqlite_restore(source, path, anchors)
        if u.get_backend_name() == "postgresql":
            return _pg_restore(source, u, anchors, app_role)
    except OSError as e:
        raise _os_error(e) from e
    except DBAPIError as e:
        raise _db_error(e, "nothing was replaced", "未替换任何数据") from e
    raise BackupError(f"Cannot restore into a {u.get_backend_name()} database.",
                      f"无法恢复到 {u.get_backend_name()} 数据库。")


def parse_anchor(text_: str) -> tuple[int, str]:
    """`SEQ:HASH` as printed by `tracker ledger seal`."""
    seq, _, digest = text_.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
        raise DomainError(f"Anchor {text_!r} is not SEQ:HASH.", f"锚点 {text_!r} 格式应为 序号:哈希。")
    return int(seq), digest.lower()
