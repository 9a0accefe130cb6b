"""A label printer emulator on raw TCP (port 9100 protocol): it speaks the bytes of a ZPL II printer with a UHF RFID
encoder and of a TSPL printer, so tests and the demo exercise the real jobs and the real conversation. It records
every job, answers ``~HS`` and ``<ESC>!?`` status queries, writes EPCs into emulated Gen2 tags, returns their TIDs
through ``^HV``, reports encode results after ``~RVE`` (``_+,n_`` / ``_-,n_``), and can be told to fail the next
encodes so that labels come out VOID. It listens only on the address it is given (loopback by default) and
renders nothing itself: ``labels.emulator_raster`` prints a recorded job's barcodes the way the printer would, for the
decoders. ``attach_pty`` serves the same protocol on a pseudo-terminal, for printers on a serial port.
"""

from __future__ import annotations

import itertools
import os
import pty
import re
import select
import socket
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["EmulatedTag", "LabelPrinterEmulator"]

_TSPL_PRINT = re.compile(rb"(?m)^PRINT[^\r\n]*\r?\n")
_RFW = re.compile(rb"\^RFW,H[^\^]*\^FD([0-9A-Fa-f]+)\^FS")
_RS = re.compile(rb"\^RS([^\^]*)")
_RFR = re.compile(rb"\^RFR,H,(\d+),(\d+),(\d)\^FN(\d+)")
_HV = re.compile(rb"\^HV(\d+),(\d+),([^,\^]*),([^,\^]*)")
_PQ = re.compile(rb"\^PQ(\d+)")
_HEX_ESC = re.compile(r"_([0-9A-Fa-f]{2})")


@dataclass
class EmulatedTag:
    """A Gen2 inlay that went through the encoder: its factory TID and the EPC written into it."""

    tid: str
    epc: str


@dataclass
class _State:
    jobs: list[bytes] = field(default_factory=list)
    tags: list[EmulatedTag] = field(default_factory=list)
    printed: int = 0
    voided: int = 0
    status_queries: int = 0


class LabelPrinterEmulator:
    """Start with ``with LabelPrinterEmulator() as printer: … printer.uri …``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tid_prefix: str = "E2801160") -> None:
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self.tid_prefix = tid_prefix
        self.fail_next_encodes = 0
        self.rfid_present = True
        self.paper_out = False
        self.paused = False
        self.head_open = False
        self.ribbon_out = False
        self._serial = itertools.count(1)
        self._state = _State()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []

    # --- lifecycle ---

    @property
    def uri(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> LabelPrinterEmulator:
        t = threading.Thread(target=self._accept_loop, name="label-printer-emulator", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in self._threads:
            t.join(timeout=2)

    def __enter__(self) -> LabelPrinterEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what tests look at ---

    @property
    def jobs(self) -> list[bytes]:
        with self._cond:
            return list(self._state.jobs)

    @property
    def tags(self) -> list[EmulatedTag]:
        with self._cond:
            return list(self._state.tags)

    @property
    def printed(self) -> int:
        with self._cond:
            return self._state.printed

    @property
    def voided(self) -> int:
        with self._cond:
            return self._state.voided

    @property
    def status_queries(self) -> int:
        with self._cond:
            return self._state.status_queries

    def wait_for_jobs(self, n: int, timeout: float = 5.0) -> list[bytes]:
        with self._cond:
            self._cond.wait_for(lambda: len(self._state.jobs) >= n, timeout=timeout)
            return list(self._state.jobs)

    # --- the protocol ---

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        rv_enabled = False
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                buf, rv_enabled = self._consume(buf, conn.sendall, rv_enabled)

    def attach_pty(self) -> str:
        """Serve the same protocol on a pseudo-terminal, as a printer on a serial port; returns the port's path."""
        master, slave = pty.openpty()
        tty.setraw(slave)
        path = os.ttyname(slave)
        t = threading.Thread(target=self._serve_pty, args=(master, slave), daemon=True)
        t.start()
        self._threads.append(t)
        return path

    def _serve_pty(self, master: int, slave: int) -> None:
        buf = b""
        rv_enabled = False

        def send(data: bytes) -> None:
            os.write(master, data)

        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready:
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:
                    return
                buf += data
                buf, rv_enabled = self._consume(buf, send, rv_enabled)
        finally:
            os.close(master)
            os.close(slave)

    def _consume(self, buf: bytes, send: Callable[[bytes], None], rv: bool) -> tuple[bytes, bool]:
        while True:
            buf = buf.lstrip(b" \t\r\n")
            if not buf:
                return buf, rv
            if buf.startswith(b"\x1b!?"):
                self._count_status()
                send(bytes([self._tspl_status_byte()]))
                buf = buf[3:]
            elif buf.startswith(b"~HS"):
                self._count_status()
                send(self._hs())
                buf = buf[3:]
            elif buf.startswith(b"~RV"):
                if len(buf) < 4:
                    return buf, rv
                rv = buf[3:4] == b"E"
                buf = buf[4:]
            elif buf.startswith(b"^XA"):
                end = buf.find(b"^XZ")
                if end < 0:
                    return buf, rv
                self._zpl_format(buf[: end + 3], send, rv)
                buf = buf[end + 3 :]
            elif buf[:1].isalpha():
                m = _TSPL_PRINT.search(buf)
                if m is None:
                    return buf, rv
                self._tspl_job(buf[: m.end()])
                buf = buf[m.end() :]
            elif len(buf) < 3:
                return buf, rv
            else:
                # Not a command this printer knows: a real one ignores it; skip to the next line or command.
                nxt = min((i for i in (buf.find(b"\n", 1), buf.find(b"^", 1), buf.find(b"~", 1)) if i > 0), default=-1)
                if nxt < 0:
                    return buf, rv
                buf = buf[nxt:]

    def _count_status(self) -> None:
        with self._cond:
            self._state.status_queries += 1

    def _hs(self) -> bytes:
        def b(flag: bool) -> str:
            return "1" if flag else "0"

        s1 = f"\x02030,{b(self.paper_out)},{b(self.paused)},1245,000,0,0,0,000,0,0,0\x03\r\n"
        s2 = f"\x02001,0,{b(self.head_open)},{b(self.ribbon_out)},0,2,4,0,00000000,1,000\x03\r\n"
        s3 = "\x021234,0\x03\r\n"
        return (s1 + s2 + s3).encode("ascii")

    def _tspl_status_byte(self) -> int:
        return (
            (0x01 if self.head_open else 0)
            | (0x04 if self.paper_out else 0)
            | (0x08 if self.ribbon_out else 0)
            | (0x10 if self.paused else 0)
        )

    def _can_print(self) -> bool:
        return not (self.paper_out or self.paused or self.head_open or self.ribbon_out)

    def _tspl_job(self, job: bytes) -> None:
        copies = 1
        m = re.search(rb"(?m)^PRINT\s+(\d+)(?:\s*,\s*(\d+))?", job)
        if m:
            copies = int(m.group(1)) * int(m.group(2) or 1)
        with self._cond:
            self._state.jobs.append(job)
            if self._can_print():
                self._state.printed += copies
            self._cond.notify_all()

    def _zpl_format(self, fmt: bytes, send: Callable[[bytes], None], rv: bool) -> None:
        copies = int(m.group(1)) if (m := _PQ.search(fmt)) else 1
        rfw = _RFW.search(fmt)
        answer = b""
        with self._cond:
            self._state.jobs.append(fmt)
            if rfw is None:
                if self._can_print():
                    self._state.printed += copies
            else:
                tries = self._labels_to_try(fmt)
                voids = 0
                tag: EmulatedTag | None = None
                for _ in range(tries):
                    if not self.rfid_present or self.fail_next_encodes > 0:
                        self.fail_next_encodes = max(0, self.fail_next_encodes - 1)
                        voids += 1
                        continue
                    tid = f"{self.tid_prefix}{next(self._serial):016X}"
                    tag = EmulatedTag(tid=tid, epc=rfw.group(1).decode("ascii").upper())
                    self._state.tags.append(tag)
                    break
                self._state.voided += voids
                if tag is not None:
                    self._state.printed += 1
                    answer += self._host_verification(fmt, tag)
                if rv:
                    answer += f"_{'+' if tag is not None else '-'},{voids}_".encode("ascii")
            self._cond.notify_all()
        if answer:
            send(answer)

    @staticmethod
    def _labels_to_try(fmt: bytes) -> int:
        m = _RS.search(fmt)
        if m is None:
            return 3
        params = m.group(1).decode("ascii", "replace").split(",")
        try:
            return max(1, min(10, int(params[3]))) if len(params) > 3 and params[3] else 3
        except ValueError:
            return 3

    @staticmethod
    def _host_verification(fmt: bytes, tag: EmulatedTag) -> bytes:
        fields: dict[int, str] = {}
        for r in _RFR.finditer(fmt):
            start, nbytes, bank, fn = (int(x) for x in r.groups())
            if bank == 2:
                fields[fn] = tag.tid[start * 4 : start * 4 + 2 * nbytes]
            elif bank == 1:
                fields[fn] = tag.epc[max(0, start - 2) * 4 :][: 2 * nbytes]
        out = b""
        hex_escapes = b"^FH" in fmt
        for h in _HV.finditer(fmt):
            fn, n = int(h.group(1)), int(h.group(2))
            header, term = h.group(3).decode("ascii"), h.group(4).decode("ascii")
            if hex_escapes:
                header = _HEX_ESC.sub(lambda m: chr(int(m.group(1), 16)), header)
                term = _HEX_ESC.sub(lambda m: chr(int(m.group(1), 16)), term)
            if fn in fields:
                out += (header + fields[fn][:n] + term).encode("ascii")
        return out
