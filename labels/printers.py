"""Getting label jobs to real printers: transports for raw TCP port 9100, a device file (``/dev/usb/lp0``), a serial
port, and a file or directory sink; the status query of each language (ZPL ``~HS``, TSPL ``<ESC>!?``); and the RFID
conversation (send a job, read back the TID and the encode result, retry after VOID). No CUPS raw queues (deprecated)
and nothing that sends label content to a web service: every byte goes only to the printer the operator named.

Printer URIs: ``tcp://host[:9100]``, ``dev:///dev/usb/lp0``, ``serial:///dev/ttyUSB0?baud=9600[&rtscts=1]``,
``file:///path/out.zpl`` (appends) or ``file:///path/dir/`` (an existing directory: one file per job).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from labels.layout import LabelContent, Layout, place
from labels.render.tspl import TsplOptions, render_tspl
from labels.render.zpl import RfidSpec, ZplOptions, render_zpl

__all__ = [
    "DeviceTransport",
    "FileTransport",
    "LabelPrinter",
    "PrintResult",
    "PrinterError",
    "PrinterStatus",
    "PrinterUriError",
    "RfidResult",
    "SerialTransport",
    "TcpTransport",
    "Transport",
    "open_transport",
    "parse_hs",
    "parse_tspl_status",
    "parse_uri",
    "query_status",
    "send_rfid_job",
]

Language = Literal["zpl", "tspl"]


class PrinterError(RuntimeError):
    """The printer could not be reached or refused the job; English and Chinese for the operator."""

    def __init__(self, message_en: str, message_zh: str) -> None:
        self.message_en = message_en
        self.message_zh = message_zh
        super().__init__(f"{message_en} / {message_zh}")


class PrinterUriError(PrinterError):
    """The printer URI itself is wrong (a usage error), as opposed to a printer that fails or does not answer."""


class Transport(Protocol):
    """A byte pipe to one printer. ``bidirectional`` says whether the printer's answers can be read back."""

    uri: str
    bidirectional: bool

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes: ...

    def close(self) -> None: ...


class _Closing:
    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> _Closing:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class TcpTransport(_Closing):
    """Raw TCP (JetDirect / port 9100): what every network label printer accepts."""

    bidirectional = True

    def __init__(self, host: str, port: int = 9100, *, timeout: float = 10.0) -> None:
        self.uri = f"tcp://{host}:{port}"
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise PrinterError(
                f"cannot connect to printer {self.uri}: {exc.strerror or exc}",
                f"无法连接打印机 {self.uri}：{exc.strerror or exc}",
            ) from exc

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise PrinterError(f"sending to {self.uri} failed: {exc}", f"向 {self.uri} 发送失败：{exc}") from exc

    def read(self, timeout: float) -> bytes:
        self._sock.settimeout(max(0.001, timeout))
        try:
            return self._sock.recv(4096)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise PrinterError(f"reading from {self.uri} failed: {exc}", f"从 {self.uri} 读取失败：{exc}") from exc

    def close(self) -> None:
        self._sock.close()


class FileTransport(_Closing):
    """A file (jobs appended) or an existing directory (one file per job): for spooling, audits and tests."""

    bidirectional = False
    _counter = itertools.count(1)

    def __init__(self, path: str | Path, *, suffix: str = ".prn") -> None:
        self.path = Path(path)
        self.uri = f"file://{self.path}"
        self.suffix = suffix
        if not self.path.is_dir() and not self.path.parent.is_dir():
            raise PrinterError(f"no such directory: {self.path.parent}", f"目录不存在：{self.path.parent}")
        self.written: list[Path] = []

    def write(self, data: bytes) -> None:
        if self.path.is_dir():
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            target = self.path / f"job-{stamp}-{next(self._counter):06d}{self.suffix}"
            mode = "xb"
        else:
            target, mode = self.path, "ab"
        try:
            with target.open(mode) as fh:
                fh.write(data)
        except OSError as exc:
            raise PrinterError(f"cannot write {target}: {exc.strerror}", f"无法写入 {target}：{exc.strerror}") from exc
        self.written.append(target)

    def read(self, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        pass


class DeviceTransport(_Closing):
    """A printer device file such as ``/dev/usb/lp0`` (the kernel's usblp driver), written directly."""

    bidirectional = False

    def __init__(self, path: str) -> None:
        self.uri = f"dev://{path}"
        try:
            self._fh: IO[bytes] = open(path, "wb", buffering=0)
        except OSError as exc:
            raise PrinterError(
                f"cannot open printer device {path}: {exc.strerror}", f"无法打开打印机设备 {path}：{exc.strerror}"
            ) from exc

    def write(self, data: bytes) -> None:
        try:
            self._fh.write(data)
            self._fh.flush()
        except OSError as exc:
            raise PrinterError(f"writing to {self.uri} failed: {exc}", f"写入 {self.uri} 失败：{exc}") from exc

    def read(self, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        self._fh.close()


class SerialTransport(_Closing):
    """An RS-232 or USB-serial printer port, via pyserial; printers answer status and RFID queries on it too."""

    bidirectional = True

    def __init__(self, port: str, *, baud: int = 9600, rtscts: bool = False, xonxoff: bool = False) -> None:
        import serial

        self.uri = f"serial://{port}?baud={baud}"
        try:
            self._ser = serial.Serial(port, baudrate=baud, rtscts=rtscts, xonxoff=xonxoff, timeout=0.1)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PrinterError(f"cannot open serial port {port}: {exc}", f"无法打开串口 {port}：{exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self._ser.write(data)
            self._ser.flush()
        except Exception as exc:  # pyserial raises SerialException or OSError
            raise PrinterError(f"writing to {self.uri} failed: {exc}", f"写入 {self.uri} 失败：{exc}") from exc

    def read(self, timeout: float) -> bytes:
        self._ser.timeout = max(0.001, timeout)
        data: bytes = self._ser.read(max(1, self._ser.in_waiting))
        return data

    def close(self) -> None:
        self._ser.close()


def open_transport(uri: str, *, timeout: float = 10.0) -> Transport:
    """Open the transport a printer URI names; raises ``PrinterError`` for an unknown or unreachable one
    (``PrinterUriError`` when the URI itself is wrong, so a caller can tell a typo from a printer fault)."""
    scheme, where, options = parse_uri(uri)
    if scheme == "tcp":
        host, port = where
        return TcpTransport(host, port, timeout=timeout)
    if scheme == "file":
        return FileTransport(where)
    if scheme == "dev":
        return DeviceTransport(where)
    return SerialTransport(where, **options)


def parse_uri(uri: str) -> tuple[str, Any, dict[str, Any]]:
    """Check a printer URI without opening anything: (scheme, (host, port) or path, serial options)."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "tcp":
        if not parts.hostname:
            raise PrinterUriError(f"{uri!r} names no host", f"{uri!r} 缺少主机名")
        try:
            port = parts.port or 9100
        except ValueError as exc:
            raise PrinterUriError(f"{uri!r} has a bad port", f"{uri!r} 的端口有误") from exc
        return scheme, (parts.hostname, port), {}
    path = unquote(parts.path)
    if scheme in ("file", "dev", "serial") and not path:
        raise PrinterUriError(f"{uri!r} names no path", f"{uri!r} 缺少路径")
    if scheme in ("file", "dev"):
        return scheme, path, {}
    if scheme == "serial":
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            baud = int(q.get("baud", "9600"))
        except ValueError as exc:
            raise PrinterUriError(f"{uri!r}: baud must be a number", f"{uri!r}：波特率必须是数字") from exc
        return scheme, path, {"baud": baud, "rtscts": q.get("rtscts", "0") == "1",
                              "xonxoff": q.get("xonxoff", "0") == "1"}
    raise PrinterUriError(
        f"unknown printer URI {uri!r} (tcp://host:9100, dev:///dev/usb/lp0, serial:///dev/ttyUSB0, file:///path)",
        f"无法识别的打印机地址 {uri!r}",
    )


# --- status ----------------------------------------------------------------------------------------------------

PROBLEMS: dict[str, tuple[str, str]] = {
    "paper_out": ("paper out", "缺纸"),
    "paused": ("paused", "暂停"),
    "buffer_full": ("receive buffer full", "接收缓冲区满"),
    "corrupt_ram": ("configuration lost (corrupt RAM)", "配置丢失（内存损坏）"),
    "under_temperature": ("head too cold", "打印头温度过低"),
    "over_temperature": ("head too hot", "打印头温度过高"),
    "head_open": ("print head open", "打印头打开"),
    "ribbon_out": ("ribbon out", "碳带用尽"),
    "paper_jam": ("paper jam", "卡纸"),
    "cover_open": ("cover open", "上盖打开"),
    "other_error": ("printer error", "打印机故障"),
    "no_answer": ("printer did not answer the status query", "打印机未响应状态查询"),
}


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """Whether the printer can print now, and if not, why (keys of ``PROBLEMS``)."""

    ready: bool
    problems: tuple[str, ...]
    raw: bytes = b""
    busy: bool = False

    def describe(self, lang: str = "en") -> str:
        if self.ready:
            return "ready" if lang == "en" else "就绪"
        return ", ".join(PROBLEMS[p][0 if lang == "en" else 1] for p in self.problems)


def parse_hs(raw: bytes) -> PrinterStatus:
    """Parse the three ``<STX>…<ETX>`` strings a ZPL printer returns for ``~HS``."""
    frames = re.findall(rb"\x02([^\x02\x03]*)\x03", raw)
    if len(frames) < 2:
        return PrinterStatus(False, ("no_answer",), raw)
    s1 = frames[0].decode("ascii", "replace").split(",")
    s2 = frames[1].decode("ascii", "replace").split(",")
    if len(s1) < 12 or len(s2) < 11:
        return PrinterStatus(False, ("no_answer",), raw)
    flags = [
        ("paper_out", s1[1]),
        ("paused", s1[2]),
        ("buffer_full", s1[5]),
        ("corrupt_ram", s1[9]),
        ("under_temperature", s1[10]),
        ("over_temperature", s1[11]),
        ("head_open", s2[2]),
        ("ribbon_out", s2[3]),
    ]
    problems = tuple(name for name, v in flags if v.strip() == "1")
    return PrinterStatus(not problems, problems, raw)


_TSPL_BITS = [
    (0x01, "head_open"),
    (0x02, "paper_jam"),
    (0x04, "paper_out"),
    (0x08, "ribbon_out"),
    (0x10, "paused"),
    (0x40, "cover_open"),
    (0x80, "other_error"),
]


def parse_tspl_status(raw: bytes) -> PrinterStatus:
    """Parse the one status byte a TSPL printer returns for ``<ESC>!?`` (0x20 = printing, not a problem)."""
    if not raw:
        return PrinterStatus(False, ("no_answer",), raw)
    b = raw[0]
    problems = tuple(name for bit, name in _TSPL_BITS if b & bit)
    return PrinterStatus(not problems, problems, raw, busy=bool(b & 0x20))


def _read_until(t: Transport, done: re.Pattern[bytes] | None, timeout: float, *, need: int = 1) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return buf
        chunk = t.read(min(left, 0.5))
        buf += chunk
        if done is not None and len(done.findall(buf)) >= need:
            return buf


def query_status(t: Transport, language: Language, *, timeout: float = 3.0) -> PrinterStatus:
    """Ask the printer for its status; a write-only transport cannot, and says so."""
    if not t.bidirectional:
        raise PrinterError(
            f"{t.uri} cannot answer a status query (write-only)", f"{t.uri} 无法应答状态查询（只能写入）"
        )
    if language == "zpl":
        t.write(b"~HS")
        return parse_hs(_read_until(t, re.compile(rb"\x03"), timeout, need=3))
    t.write(b"\x1b!?")
    return parse_tspl_status(_read_until(t, re.compile(rb"."), timeout))


# --- RFID ------------------------------------------------------------------------------------------------------

_RV_RE = re.compile(rb"_([+-]),(\d+)_")
_TID_RE = re.compile(rb"TID:([0-9A-Fa-f]+)\r?\n")


@dataclass(frozen=True, slots=True)
class RfidResult:
    """Outcome of one RFID label: ``voided`` counts labels the printer printed VOID on the way, over all attempts."""

    ok: bool
    tid: str | None
    voided: int
    attempts: int


def send_rfid_job(
    t: Transport, job: bytes, *, retries: int = 1, timeout: float = 15.0, read_tid: bool = True
) -> RfidResult:
    """Send one RFID label format and read the printer's answer: ``_+,n_`` (encoded after n VOIDs) or ``_-,n_``
    (gave up after n VOIDs; the job is sent again, up to ``retries`` more times) and, on success, ``TID:…``."""
    if not t.bidirectional:
        raise PrinterError(
            f"{t.uri} cannot report RFID results (write-only); use tcp:// or serial://",
            f"{t.uri} 无法回报 RFID 写入结果（只能写入）；请使用 tcp:// 或 serial://",
        )
    voided = 0
    for attempt in range(1, retries + 2):
        t.write(job)
        buf = _read_until(t, _RV_RE, timeout)
        m = _RV_RE.search(buf)
        if m is None:
            raise PrinterError(
                f"{t.uri} gave no RFID encode result within {timeout:g} s (is it an RFID printer?)",
                f"{t.uri} 在 {timeout:g} 秒内没有回报 RFID 写入结果（是否为 RFID 打印机？）",
            )
        voided += int(m.group(2))
        if m.group(1) == b"+":
            tid = None
            if read_tid:
                tm = _TID_RE.search(buf) or _TID_RE.search(buf + _read_until(t, _TID_RE, min(timeout, 3.0)))
                tid = tm.group(1).decode("ascii").upper() if tm else None
            return RfidResult(True, tid, voided, attempt)
    return RfidResult(False, None, voided, retries + 1)


# --- the printer -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrintResult:
    """One label's outcome. ``confirmed`` is True only when the printer itself reported the label (RFID jobs, which
    answer with their encode result); otherwise the job was delivered and nothing more is known."""

    code: str
    ok: bool
    confirmed: bool
    tid: str | None = None
    voided: int = 0
    attempts: int = 1
    message_en: str = ""
    message_zh: str = ""


class LabelPrinter:
    """A configured label printer: its URI, language and profile. Every label of a batch is rendered (so checked)
    before the first byte is sent: a bad code refuses the batch and prints nothing."""

    def __init__(
        self,
        uri: str,
        *,
        language: Language = "zpl",
        zpl: ZplOptions | None = None,
        tspl: TsplOptions | None = None,
        rfid: RfidSpec | None = None,
        rfid_retries: int = 1,
        timeout: float = 15.0,
        check_status: bool = True,
    ) -> None:
        if language not in ("zpl", "tspl"):
            raise PrinterError(f"unknown printer language {language!r} (zpl, tspl)", f"未知的打印机语言 {language!r}")
        if rfid is not None and language != "zpl":
            raise PrinterError("RFID encoding needs a ZPL printer", "RFID 写入需要 ZPL 打印机")
        parse_uri(uri)  # a mistyped URI is a usage error now, not a printer fault at the first job
        self.uri = uri
        self.language: Language = language
        self.zpl = zpl or ZplOptions()
        self.tspl = tspl or TsplOptions()
        self.rfid = rfid
        self.rfid_retries = rfid_retries
        self.timeout = timeout
        self.check_status = check_status

    def render(self, layout: Layout, content: LabelContent) -> bytes:
        if self.language == "zpl":
            return render_zpl(layout, content, self.zpl, self.rfid).encode("utf-8")
        return render_tspl(layout, content, self.tspl)

    def status(self) -> PrinterStatus:
        t = open_transport(self.uri, timeout=self.timeout)
        try:
            return query_status(t, self.language)
        finally:
            t.close()

    def jobs(self, layout: Layout, contents: Iterable[LabelContent]) -> list[bytes]:
        """The job of each label, without sending anything: raises ``LayoutError`` for a content that does not fit
        (a symbol below the printable module at this printer's resolution, a code too long for its Code 128), so a
        caller printing several layouts can refuse them all before the first label comes out."""
        items = list(contents)
        for c in items:
            place(layout, c)
        return [self.render(layout, c) for c in items]

    def print_labels(self, layout: Layout, contents: Iterable[LabelContent]) -> list[PrintResult]:
        items: Sequence[LabelContent] = list(contents)
        jobs = self.jobs(layout, items)
        t = open_transport(self.uri, timeout=self.timeout)
        try:
            if self.check_status and t.bidirectional:
                st = query_status(t, self.language, timeout=min(self.timeout, 3.0))
                if not st.ready:
                    raise PrinterError(
                        f"printer {self.uri} is not ready: {st.describe('en')}; nothing was printed",
                        f"打印机 {self.uri} 未就绪：{st.describe('zh')}；未打印任何标签",
                    )
            if self.rfid is None:
                t.write(b"".join(jobs))
                return [PrintResult(c.code, True, False) for c in items]
            if not t.bidirectional:
                raise PrinterError(
                    f"{t.uri} cannot report RFID results (write-only); use tcp:// or serial://",
                    f"{t.uri} 无法回报 RFID 写入结果（只能写入）；请使用 tcp:// 或 serial://",
                )
            results: list[PrintResult] = []
            for c, job in zip(items, jobs, strict=True):
                r = send_rfid_job(t, job, retries=self.rfid_retries, timeout=self.timeout, read_tid=self.rfid.read_tid)
                if r.ok:
                    results.append(PrintResult(c.code, True, True, r.tid, r.voided, r.attempts))
                else:
                    results.append(
                        PrintResult(
                            c.code,
                            False,
                            True,
                            None,
                            r.voided,
                            r.attempts,
                            f"RFID encoding of {c.code} failed: {r.voided} label(s) printed VOID",
                            f"{c.code} 的 RFID 写入失败：{r.voided} 张标签打印为作废（VOID）",
                        )
                    )
            return results
        finally:
            t.close()
