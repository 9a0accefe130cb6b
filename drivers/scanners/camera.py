"""Camera scanning: frames from OpenCV, decoded by zxing-cpp (or pyzbar, when the zbar library is present).

This module owns turning an image into `Read`s — with the formats restricted to those configured, so a camera
at the counter never "reads" a stray EAN on a coffee cup — and a capture loop that survives a camera being
unplugged. It must never make pyzbar or libzbar a requirement: the zbar backend is optional and says why when
it is unavailable. AIM identifiers come from the decoder (zxing-cpp reports them; for zbar the symbology's
plain identifier is used, so a GS1 flag is not available from that backend).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, Self

import cv2
import numpy as np
import zxingcpp

from drivers.reads import DeviceState, DeviceStatus, Read, ReadKind
from drivers.scanners import aim
from drivers.scanners.base import EventSink, EventStream
from drivers.scanners.formats import DEFAULT_FORMATS, FORMATS, format_key
from drivers.transport import Backoff, Running

# zbar symbol type names for the formats zbar can read (it has no Data Matrix or Aztec decoder).
_ZBAR_TYPES = {"qrcode": "QRCODE", "code128": "CODE128", "code39": "CODE39", "ean13": "EAN13", "ean8": "EAN8",
               "pdf417": "PDF417"}


class BackendUnavailable(RuntimeError):
    """A decoder backend cannot run here; the message says what to install."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    symbology: str | None
    aim_id: str | None
    raw: bytes


class Decoder(Protocol):
    name: str

    def decode(self, image: np.ndarray) -> list[Decoded]: ...


def to_gray(image: np.ndarray) -> np.ndarray:
    """Decoders binarise luminance anyway; converting once here is cheaper than letting each backend do it."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class ZxingDecoder:
    """zxing-cpp, restricted to `formats`. `try_rotate` finds codes at 90°/270°; `try_downscale` finds
    large ones faster; `try_invert` (light-on-dark) is off by default because carrier labels are printed
    dark on light.
    """

    name = "zxing"

    def __init__(
        self,
        formats: Iterable[str] = DEFAULT_FORMATS,
        *,
        try_rotate: bool = True,
        try_downscale: bool = True,
        try_invert: bool = False,
    ) -> None:
        keys = [format_key(f) for f in formats]
        if not keys:
            raise ValueError("configure at least one barcode format")
        self.formats = tuple(keys)
        self._formats = zxingcpp.BarcodeFormats([getattr(zxingcpp.BarcodeFormat, FORMATS[k][0]) for k in keys])
        self.try_rotate = try_rotate
        self.try_downscale = try_downscale
        self.try_invert = try_invert

    def decode(self, image: np.ndarray) -> list[Decoded]:
        found = zxingcpp.read_barcodes(
            to_gray(image), formats=self._formats, try_rotate=self.try_rotate,
            try_downscale=self.try_downscale, try_invert=self.try_invert,
        )
        out = []
        for result in found:
            aim_id = result.symbology_identifier or None
            symbology = aim.symbology_for(aim_id)
            out.append(Decoded(result.text, symbology, aim_id if symbology else None, bytes(result.bytes)))
        return out


def zbar_unavailable_reason() -> str | None:
    """None when the pyzbar backend can run; otherwise what is missing, in words an operator can act on."""
    try:
        from pyzbar import pyzbar  # noqa: F401
    except ImportError as exc:
        if "zbar" in str(exc).lower() and "pyzbar" not in str(exc).lower():
            return f"the zbar library is missing (install libzbar0): {exc}"
        return "pyzbar is not installed (pip install 'carrier-tracker[zbar]') and needs libzbar0"
    except OSError as exc:  # pyzbar present, shared library not found
        return f"the zbar library is missing (install libzbar0): {exc}"
    return None


class ZbarDecoder:
    """pyzbar over the system's libzbar: a second opinion for QR and linear codes (zbar reads no Data
    Matrix).
    """

    name = "zbar"

    def __init__(self, formats: Iterable[str] = DEFAULT_FORMATS) -> None:
        reason = zbar_unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(reason)
        from pyzbar import pyzbar

        keys = [format_key(f) for f in formats]
        self.unsupported = tuple(k for k in keys if k not in _ZBAR_TYPES)
        usable = [k for k in keys if k in _ZBAR_TYPES]
        if not usable:
            raise BackendUnavailable(f"zbar cannot read any of the configured formats ({', '.join(keys)})")
        self.formats = tuple(usable)
        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol[_ZBAR_TYPES[k]] for k in usable]
        self._symbology = {_ZBAR_TYPES[k]: FORMATS[k][1] for k in usable}

    def decode(self, image: np.ndarray) -> list[Decoded]:
        out = []
        for result in self._pyzbar.decode(to_gray(image), symbols=self._symbols):
            symbology = self._symbology.get(result.type)
            text = result.data.decode("utf-8", "replace")
            out.append(Decoded(text, symbology, aim.aim_for(symbology) if symbology else None, result.data))
        return out


def make_decoder(backend: str = "zxing", formats: Iterable[str] = DEFAULT_FORMATS) -> Decoder:
    if backend == "zxing":
        return ZxingDecoder(formats)
    if backend == "zbar":
        return ZbarDecoder(formats)
    raise ValueError(f"unknown camera decoder backend {backend!r}; use zxing or zbar")


def decode_image(image: np.ndarray, decoder: Decoder, device: str) -> list[Read]:
    """Every code the decoder finds in one frame, as reads from `device`."""
    at = datetime.now(UTC)
    return [
        Read(code=d.text, kind=ReadKind.BARCODE, symbology=d.symbology, aim_id=d.aim_id, device=device, at=at,
             raw=d.raw)
        for d in decoder.decode(image)
    ]


def _is_live(source: int | str) -> bool:
    return isinstance(source, int) or source.startswith(("/dev/video", "rtsp://", "http://", "https://"))


class CameraScanner(Running):
    """Captures from `source` (a camera index, `/dev/video*`, a stream URL, or a video/image-sequence file
    such as `frames/%03d.png`) and decodes up to `fps` frames a second on its own thread. A live camera
    that fails is re-opened with back-off; a file source ends with a DISCONNECTED status when it runs out.
    """

    def __init__(
        self,
        name: str,
        source: int | str,
        *,
        decoder: Decoder | None = None,
        dup_window: float = 2.0,
        on_event: EventSink | None = None,
        fps: float = 10.0,
        backoff: Backoff | None = None,
        resolution: tuple[int, int] | None = (1280, 720),
    ) -> None:
        self.name = name
        self.source: int | str = int(source) if isinstance(source, str) and source.isdigit() else source
        self.decoder = decoder or ZxingDecoder()
        self.stream = EventStream(name, dup_window=dup_window, on_event=on_event)
        self.fps = fps
        self.backoff = backoff or Backoff(initial=0.5, maximum=10.0)
        self.resolution = resolution
        self.frames = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._state: DeviceState | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.run, name=f"camera:{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_connected(self, timeout: float = 2.0) -> bool:
        return self._connected.wait(timeout)

    def get(self, timeout: float | None = None) -> Read | DeviceStatus | None:
        return self.stream.get(timeout)

    def next_read(self, timeout: float) -> Read | None:
        return self.stream.next_read(timeout)

    def _status(self, state: DeviceState, detail: str = "") -> None:
        if state is self._state:
            return
        self._state = state
        (self._connected.set if state is DeviceState.CONNECTED else self._connected.clear)()
        self.stream.emit_status(DeviceStatus(self.name, state, detail))

    def _open(self) -> Any:
        cap = cv2.VideoCapture(self.source)
        if not cap.isOpened():
            cap.release()
            return None
        if _is_live(self.source):
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # decode the newest frame, not one queued seconds ago
            if self.resolution:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
        return cap

    def run(self) -> None:
        live = _is_live(self.source)
        delays = self.backoff.delays()
        while not self._stop.is_set():
            cap = self._open()
            if cap is None:
                self._status(DeviceState.RECONNECTING if live else DeviceState.ERROR,
                             f"cannot open camera {self.source!r}")
                if not live:
                    return
                self._stop.wait(next(delays))
                continue
            delays = self.backoff.delays()
            self._status(DeviceState.CONNECTED)
            try:
                ended = self._capture(cap)
            finally:
                cap.release()
            if ended and not live:
                self._status(DeviceState.DISCONNECTED, "end of video")
                return
            if not self._stop.is_set():
                self._status(DeviceState.DISCONNECTED, "camera stopped delivering frames")
        self._status(DeviceState.DISCONNECTED, "stopped")

    def _capture(self, cap: Any) -> bool:
        """Decode frames until stopped (False) or the source fails/ends (True)."""
        period = 1.0 / self.fps if self.fps > 0 else 0.0
        while not self._stop.is_set():
            started = time.monotonic()
            ok, frame = cap.read()
            if not ok or frame is None:
                return True
            self.frames += 1
            for read in decode_image(frame, self.decoder, self.name):
                self.stream.emit_read(read, time.monotonic())
            spare = period - (time.monotonic() - started)
            if spare > 0:
                self._stop.wait(spare)
        return False


def available_backends(formats: Sequence[str] = DEFAULT_FORMATS) -> dict[str, str | None]:
    """Backend name -> None if usable with `formats`, else the reason it is not (for `tracker devices
    list`).
    """
    out: dict[str, str | None] = {"zxing": None}
    try:
        ZbarDecoder(formats)
        out["zbar"] = None
    except BackendUnavailable as exc:
        out["zbar"] = str(exc)
    return out
