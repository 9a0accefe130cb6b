"""Camera decoding on generated 1280x720 frames (clean, rotated, blurred, noisy), and the capture loop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from drivers.reads import DeviceState, DeviceStatus, Read
from drivers.scanners.camera import (
    BackendUnavailable,
    CameraScanner,
    ZbarDecoder,
    ZxingDecoder,
    available_backends,
    decode_image,
    format_key,
    make_decoder,
    zbar_unavailable_reason,
)

CODE = "BJ-0000015"
BACKGROUND = 235
FORMATS = {"DataMatrix": (zxingcpp.BarcodeFormat.DataMatrix, 8), "QRCode": (zxingcpp.BarcodeFormat.QRCode, 8),
           "Code128": (zxingcpp.BarcodeFormat.Code128, 3)}


def symbol(text: str, fmt: str) -> np.ndarray:
    kind, scale = FORMATS[fmt]
    return np.asarray(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, kind), scale=scale))


def frame(*symbols: np.ndarray) -> np.ndarray:
    """A 1280x720 grey frame with the symbols side by side in the middle."""
    canvas = np.full((720, 1280), BACKGROUND, np.uint8)
    x = (1280 - sum(s.shape[1] + 40 for s in symbols)) // 2
    for s in symbols:
        y = (720 - s.shape[0]) // 2
        canvas[y : y + s.shape[0], x : x + s.shape[1]] = s
        x += s.shape[1] + 40
    return canvas


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderValue=BACKGROUND)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def noise(img: np.ndarray, sigma: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "clean": lambda i: i,
    "rotated 90": lambda i: rotate(i, 90),
    "rotated 180": lambda i: rotate(i, 180),
    "rotated 30": lambda i: rotate(i, 30),
    "rotated 45": lambda i: rotate(i, 45),
    "blur σ1": lambda i: blur(i, 1.0),
    "blur σ2": lambda i: blur(i, 2.0),
    "blur σ3": lambda i: blur(i, 3.0),
    "blur σ5": lambda i: blur(i, 5.0),
    "noise σ20": lambda i: noise(i, 20),
    "noise σ50": lambda i: noise(i, 50),
    "low contrast": lambda i: (i.astype(np.float32) * 0.25 + 140).astype(np.uint8),
    "rotated 30 + blur σ2": lambda i: blur(rotate(i, 30), 2.0),
    "colour (BGR)": lambda i: cv2.cvtColor(i, cv2.COLOR_GRAY2BGR),
}

# What must decode with the zxing backend (zxing-cpp 3.x). Everything else may or may not decode but must never
# decode to a wrong code. 2D symbols decode at any angle; Code 128 only near 0/90/180/270 degrees.
MUST_DECODE = {
    "DataMatrix": set(VARIANTS) - {"blur σ5"},
    "QRCode": set(VARIANTS) - {"blur σ5"},
    "Code128": {"clean", "rotated 90", "rotated 180", "blur σ1", "blur σ2", "noise σ20", "noise σ50", "low contrast",
                "colour (BGR)"},
}


def test_generated_frames_decode_matrix() -> None:
    decoder = ZxingDecoder()
    report: list[str] = []
    missing: list[str] = []
    wrong: list[str] = []
    for fmt in FORMATS:
        base = frame(symbol(CODE, fmt))
        row = []
        for name, variant in VARIANTS.items():
            got = [d.text for d in decoder.decode(variant(base))]
            ok = got == [CODE]
            row.append(f"{name}={'yes' if ok else 'no'}")
            if got and not ok:
                wrong.append(f"{fmt}/{name}: {got}")
            if name in MUST_DECODE[fmt] and not ok:
                missing.append(f"{fmt}/{name}")
        report.append(f"{fmt:10} " + ", ".join(row))
    print("\n".join(["camera decode matrix (zxing):", *report]))
    assert not wrong, f"decoded to a wrong code: {wrong}"
    assert not missing, "pinned cases no longer decode: " + ", ".join(missing) + "\n" + "\n".join(report)


@pytest.mark.parametrize(("fmt", "symbology", "aim_id"), [
    ("DataMatrix", "datamatrix", "]d1"), ("QRCode", "qrcode", "]Q1"), ("Code128", "code128", "]C0"),
])
def test_reads_carry_the_decoders_aim_id(fmt: str, symbology: str, aim_id: str) -> None:
    (read,) = decode_image(frame(symbol(CODE, fmt)), ZxingDecoder(), "desk-cam")
    assert (read.code, read.symbology, read.aim_id, read.device, read.raw) == (
        CODE, symbology, aim_id, "desk-cam", CODE.encode()
    )


def test_only_configured_formats_are_read() -> None:
    img = frame(symbol("CODE128-TEXT", "Code128"), symbol("QR-TEXT", "QRCode"))
    assert {d.text for d in ZxingDecoder().decode(img)} == {"CODE128-TEXT", "QR-TEXT"}
    assert [d.text for d in ZxingDecoder(["DataMatrix"]).decode(img)] == []
    assert [d.text for d in ZxingDecoder(["qr code"]).decode(img)] == ["QR-TEXT"]


def test_format_names_are_checked() -> None:
    assert format_key("Data Matrix") == format_key("datamatrix") == "datamatrix"
    with pytest.raises(ValueError, match="unknown barcode format"):
        format_key("MaxiCode")
    with pytest.raises(ValueError, match="at least one"):
        ZxingDecoder([])
    with pytest.raises(ValueError, match="backend"):
        make_decoder("opencv")


def test_capture_loop_over_an_image_sequence(tmp_path: Path) -> None:
    # OpenCV's image-sequence reader stands in for a camera: the same VideoCapture path, real frames.
    images = [frame(symbol(CODE, "DataMatrix"))] * 3 + [frame()] + [frame(symbol("BJ-0000023", "QRCode"))]
    for i, img in enumerate(images):
        cv2.imwrite(str(tmp_path / f"frame{i:03d}.png"), img)
    camera = CameraScanner("desk-cam", str(tmp_path / "frame%03d.png"), fps=0, dup_window=2.0)
    events: list[Read | DeviceStatus] = []
    with camera:
        while (event := camera.get(5.0)) is not None:
            events.append(event)
            if isinstance(event, DeviceStatus) and event.state is DeviceState.DISCONNECTED:
                break
    reads = [e for e in events if isinstance(e, Read)]
    assert [(r.code, r.symbology) for r in reads] == [(CODE, "datamatrix"), ("BJ-0000023", "qrcode")]
    assert camera.frames == 5 and camera.stream.dedup.dropped == 2  # the label seen in three frames is one read
    states = [e.state for e in events if isinstance(e, DeviceStatus)]
    assert states == [DeviceState.CONNECTED, DeviceState.DISCONNECTED]


def test_missing_camera_file_is_an_error_status(tmp_path: Path) -> None:
    camera = CameraScanner("nothing", str(tmp_path / "missing.mp4"))
    with camera:
        event = camera.get(5.0)
    assert isinstance(event, DeviceStatus) and event.state is DeviceState.ERROR
    assert "cannot open camera" in event.detail


def test_backends_report() -> None:
    backends = available_backends()
    assert backends["zxing"] is None
    assert backends["zbar"] == zbar_unavailable_reason() or backends["zbar"] is None


zbar_missing = zbar_unavailable_reason()


@pytest.mark.skipif(zbar_missing is not None, reason=f"zbar backend unavailable: {zbar_missing}")
def test_zbar_backend_reads_qr_and_code128_not_datamatrix() -> None:
    decoder = ZbarDecoder()
    assert decoder.unsupported == ("datamatrix",)
    img = frame(symbol("CODE128-TEXT", "Code128"), symbol("QR-TEXT", "QRCode"), symbol("DM-TEXT", "DataMatrix"))
    got = {(d.text, d.symbology, d.aim_id) for d in decoder.decode(img)}
    assert got == {("CODE128-TEXT", "code128", "]C0"), ("QR-TEXT", "qrcode", "]Q1")}
    with pytest.raises(BackendUnavailable, match="cannot read any"):
        ZbarDecoder(["DataMatrix"])


@pytest.mark.skipif(zbar_missing is None, reason="zbar is installed here; the unavailable path cannot be shown")
def test_zbar_backend_says_what_to_install() -> None:
    with pytest.raises(BackendUnavailable, match="install"):
        make_decoder("zbar")
