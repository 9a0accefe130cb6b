"""Line framing for serial barcode scanners: bytes in, whole scans (or the reason a scan was refused) out.

This module owns the rules that turn a scanner's byte stream into frames: configurable prefix, suffix and
terminator (CR, LF, CRLF, TAB, or none with an idle time-out), resynchronisation after line noise, and
refusing cut-short, over-long or undecodable frames. It is a pure function of bytes and the times they
arrived: no ports, no threads, no clocks of its own, so any stream can be replayed through it in a test. It
must never guess a code out of a damaged frame — a refused scan is re-scanned at the counter, a wrong one is
booked against the wrong carrier.

Noise rule. Bytes that never occur in a scan (C0 controls other than GS/RS/FS/EOT, DEL, and bytes that cannot
appear in the configured encoding) are *noise*. Noise that arrives between frames is skipped; noise inside a
frame spoils the whole frame, which is refused when its terminator comes. Printable garbage cannot be told
from data by any framer: configure a prefix (e.g. STX) and suffix when a line is noisy, and let the code's own
check character do the rest.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

TERMINATORS: dict[str, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t", "none": b""}

# Separators that legitimately occur inside GS1 / ISO 15434 data: EOT, FS, GS (FNC1), RS.
_DATA_CONTROLS = frozenset({0x04, 0x1C, 0x1D, 0x1E})


def never_in_text(encoding: str) -> frozenset[int]:
    """Byte values that cannot be part of a scan sent in `encoding`: what counts as line noise."""
    noise = {b for b in range(0x20) if b not in _DATA_CONTROLS} | {0x7F}
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
        noise |= {0xC0, 0xC1} | set(range(0xF5, 0x100))
    elif encoding.lower() in ("ascii", "us-ascii"):
        noise |= set(range(0x80, 0x100))
    else:  # GBK/GB18030 and other double-byte sets: only 0xFF is never a valid byte
        noise.add(0xFF)
    return frozenset(noise)


@dataclass(frozen=True, slots=True)
class LineSettings:
    """How a line scanner frames its output; the defaults match a factory-default USB-CDC scanner (CR suffix).

    `terminator` cr, lf and crlf are read alike — CR or LF ends a frame and empty lines are skipped — because
    a scanner reprogrammed at the counter from CR to CRLF must not start glueing scans. `tab` ends frames on
    TAB. `none` ends a frame after `idle_timeout` seconds of silence (or at the suffix, if one is set). A
    partial frame older than `stale_after` seconds is dropped when more bytes come, so a scan cut by a reset
    is never glued to the next one.
    """

    terminator: str = "cr"
    prefix: bytes = b""
    suffix: bytes = b""
    idle_timeout: float = 0.05
    stale_after: float = 1.0
    max_length: int = 1024
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.terminator not in TERMINATORS:
            raise ValueError(
                f"terminator {self.terminator!r} is not one of {', '.join(TERMINATORS)}"
            )
        if self.terminator == "none" and self.idle_timeout <= 0:
            raise ValueError("terminator 'none' needs an idle_timeout greater than zero")
        for name, marker in (("prefix", self.prefix), ("suffix", self.suffix)):
            if any(b in b"\r\n" for b in marker) or (self.terminator == "tab" and b"\t" in marker):
                raise ValueError(f"{name} {marker!r} contains the terminator")
        if self.max_length < 1:
            raise ValueError("max_length must be at least 1")
        codecs.lookup(self.encoding)  # LookupError names an unknown encoding


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete scan: `text` is the payload between prefix and suffix, decoded; `raw` is every byte it
    used.
    """

    text: str
    raw: bytes
    at: float


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes that looked like a frame but were refused, and why; kept for the device log, never turned into a
    read.
    """

    raw: bytes
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Reply:
    """A device's answer to a host command, told apart from scans by its status marks (Honeywell menu replies:
    the command echoed with ACK/ENQ/NAK before each separator, ending in `.` or `!`)."""

    text: str
    raw: bytes
    at: float


Item = Frame | Rejected | Reply


@dataclass(slots=True)
class _Partial:
    body: bytearray = field(default_factory=bytearray)
    raw: bytearray = field(default_factory=bytearray)
    spoiled: str = ""
    open: bool = False  # a prefix has been seen (prefix mode) or a data byte (otherwise)
    marks: int = 0  # reply status marks seen: this is a command reply, not a scan
    after_mark: bool = False


class LineFramer:
    """Incremental framer: `feed(data, now)` returns the frames completed by `data`; `poll(now)` those
    completed by silence. Splitting a stream into chunks differently never changes the frames (only the
    time-out rules look at `now`).
    """

    def __init__(self, settings: LineSettings | None = None, *, reply_marks: bytes = b"") -> None:
        self.settings = s = settings or LineSettings()
        self._orphan = bytearray()  # text skipped before a prefix: the start of a reply, if a mark follows
        self._carry = b""  # bytes held back because they may begin a multi-byte prefix or suffix
        self._markers = [m for m in (s.prefix, s.suffix if s.terminator == "none" else b"") if len(m) > 1]
        self.skipped = 0  # noise and garbage bytes dropped between frames, for the device log
        self._p = _Partial()
        self._last = 0.0
        self._ends = b"\t" if s.terminator == "tab" else b"" if s.terminator == "none" else b"\r\n"
        if s.terminator == "none":
            self._ends = b"\r\n"  # a stray CR/LF still ends a frame: nothing legitimate is lost by it
        never = never_in_text(s.encoding)
        # Control bytes used as prefix/suffix are still never *data*: a payload holding one is refused.
        self._forbidden = re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in sorted(never)) + b"]")
        noise = set(never) - set(s.prefix) - set(s.suffix) - set(self._ends)
        noise -= set(reply_marks)
        self._noise = bytes(sorted(noise))
        tokens = []
        if s.prefix:
            tokens.append(b"(?P<pre>" + re.escape(s.prefix) + b")")
        if s.suffix and s.terminator == "none":
            tokens.append(b"(?P<suf>" + re.escape(s.suffix) + b")")
        special = set(self._ends) | noise | set(s.prefix[:1]) | set(s.suffix[:1])
        if reply_marks:
            special |= set(reply_marks) | set(b".!")
        cls = b"".join(re.escape(bytes([b])) for b in sorted(special))
        tokens.append(b"(?P<end>[" + b"".join(re.escape(bytes([b])) for b in self._ends) + b"])")
        if reply_marks:
            tokens.append(b"(?P<mark>[" + b"".join(re.escape(bytes([b])) for b in reply_marks) + b"])")
        tokens.append(b"(?P<noise>[" + b"".join(re.escape(bytes([b])) for b in sorted(noise)) + b"])")
        tokens.append(b"(?P<text>[^" + cls + b"]+|.)")
        self._token = re.compile(b"|".join(tokens), re.DOTALL)

    def reset(self) -> list[Item]:
        """Forget a half-received frame (the device went away); returns it as rejected so the log can say
        so.
        """
        p = self._p
        self._p = _Partial()
        carry, self._carry = self._carry, b""
        if p.open or p.raw or carry:
            return [Rejected(bytes(p.raw) + carry, "cut short: device disconnected", self._last)]
        return []

    def poll(self, now: float) -> list[Item]:
        """Frames that silence completes: in `none` mode an idle gap ends a frame; elsewhere nothing
        happens.
        """
        s = self.settings
        out: list[Item] = []
        if s.terminator == "none" and now - self._last >= s.idle_timeout:
            self._flush_carry(out)
            if self._p.open:
                out += self._finish(now)
        return out

    def feed(self, data: bytes, now: float) -> list[Item]:
        if not data:
            return self.poll(now)
        s = self.settings
        out: list[Item] = []
        if s.terminator == "none" and now - self._last >= s.idle_timeout:
            out += self.poll(now)
        elif now - self._last > s.stale_after and (self._p.open or self._carry):
            self._flush_carry(out)
            out.append(Rejected(bytes(self._p.raw), "cut short: no end before silence", now))
            self._p = _Partial()
        self._last = now
        data = self._carry + data
        # Hold back a tail that may be the start of a multi-byte prefix/suffix split across two reads.
        keep = 0
        if self._markers:
            # Only bytes after the last complete marker can start another one.
            last = max((m.end() for m in self._token.finditer(data) if m.lastgroup in ("pre", "suf")), default=0)
            keep = max(
                (k for m in self._markers for k in range(1, len(m)) if k <= len(data) - last and data.endswith(m[:k])),
                default=0,
            )
        self._carry = data[len(data) - keep :] if keep else b""
        self._consume(data[: len(data) - keep], now, out)
        return out

    def _flush_carry(self, out: list[Item]) -> None:
        carry, self._carry = self._carry, b""
        if carry:
            self._consume(carry, self._last, out)

    def _consume(self, data: bytes, now: float, out: list[Item]) -> None:
        s = self.settings
        for m in self._token.finditer(data):
            kind = m.lastgroup
            chunk = m.group()
            p = self._p
            if kind == "text":
                if p.after_mark and chunk in (b".", b"!"):
                    p.raw += chunk
                    p.body += chunk
                    out.append(Reply(p.body.decode(s.encoding, "replace"), bytes(p.raw), now))
                    self._p = _Partial()
                    continue
                p.after_mark = False
                if s.prefix and not p.open:
                    self.skipped += len(chunk)
                    self._orphan += chunk
                    del self._orphan[:-256]
                    continue
                p.open = True
                p.raw += chunk
                if len(p.body) + len(chunk) > s.max_length + len(s.suffix):
                    p.spoiled = p.spoiled or f"longer than {s.max_length} bytes"
                    del p.raw[s.max_length * 2 :]
                else:
                    p.body += chunk
            elif kind == "end":
                self._orphan.clear()
                if p.open:
                    p.raw += chunk
                    if p.marks:
                        p.spoiled = "a command reply was cut by a line end"
                    out += self._finish(now)
                # a terminator between frames (the LF of CRLF, a blank line) is not garbage: nothing to do
            elif kind == "noise":
                if p.open:
                    p.raw += chunk
                    p.spoiled = p.spoiled or f"line noise byte 0x{chunk[0]:02X} inside the frame"
                else:
                    self.skipped += 1
            elif kind == "mark":
                if not p.open:
                    p.open = True
                    p.body += self._orphan
                    p.raw += self._orphan
                    self.skipped -= len(self._orphan)
                    self._orphan.clear()
                p.raw += chunk
                p.body += chunk
                p.marks += 1
                p.after_mark = True
            elif kind == "pre":
                self._orphan.clear()
                if p.open:
                    if s.terminator == "none":
                        out += self._finish(now)
                    else:
                        out.append(Rejected(bytes(p.raw), "cut short: a new frame began", now))
                self._p = _Partial(raw=bytearray(chunk), open=True)
            elif kind == "suf":
                if p.open:
                    p.raw += chunk
                    p.body += chunk
                    out += self._finish(now)
                else:
                    self.skipped += len(chunk)

    def _finish(self, now: float) -> list[Item]:
        p = self._p
        self._p = _Partial()
        s = self.settings
        raw = bytes(p.raw)
        if p.spoiled:
            return [Rejected(raw, p.spoiled, now)]
        body = bytes(p.body)
        if s.suffix:
            if not body.endswith(s.suffix):
                return [Rejected(raw, f"missing suffix {s.suffix!r}", now)] if body else []
            body = body[: -len(s.suffix)]
        if not body:
            return [Rejected(raw, "empty frame", now)] if s.prefix or s.suffix else []
        if self._forbidden.search(body):
            return [Rejected(raw, "control byte inside the data", now)]
        try:
            text = body.decode(s.encoding)
        except UnicodeDecodeError:
            return [Rejected(raw, f"not valid {s.encoding}", now)]
        return [Frame(text, raw, now)]


def encode_line(text: str, settings: LineSettings) -> bytes:
    """The bytes a scanner configured with `settings` sends for `text` (used by emulators and benchmarks)."""
    body = text.encode(settings.encoding)
    return settings.prefix + body + settings.suffix + TERMINATORS[settings.terminator]
