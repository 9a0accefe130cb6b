"""Label benchmarks (issue 3), each printed beside a baseline measured in the same run: building the same 1,000
carrier codes (and their EPCs) alone.

1. 1,000 ZPL labels (document cover, Chinese text as ^GFA graphics) — target ≤ 1 s; also with a printer-resident
   font, with RFID encode commands, and as TSPL;
2. 1,000 labels on A4 PDF sheets (3 x 8 per page, 42 pages), Chinese in the embedded font as by default — target
   ≤ 15 s; also with the built-in, not embedded STSong-Light;
3. for scale, PNG previews of 100 labels.

Every label gets its own code, document number and copy number, and the symbol and text-bitmap caches are cleared
before each measurement, so caching does not flatter the figures. Run: `make bench` or
`.venv/bin/python bench/bench_labels.py [--n 1000] [--repeat 3]` (each figure is the best of --repeat cold runs).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import _targets as targets

from labels.codes import carrier_code_to_epc, make_carrier_code
from labels.layout import LabelContent, carrier_content, load_layout
from labels.marking import make_marking
from labels.render.pdf import CJK_FONT, render_pdf_sheet
from labels.render.raster import render_png
from labels.render.tspl import render_tspl_batch
from labels.render.zpl import RfidSpec, ZplOptions, render_zpl_batch
from labels.symbols import _datamatrix, _qr, code128_pattern
from labels.text import _advance, _glyph, render_text_bitmap


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def fresh_caches() -> None:
    """Symbol caches are per process; clear them so each measurement builds its symbols itself."""
    for f in (code128_pattern, _qr, _datamatrix, _glyph, _advance, render_text_bitmap):
        f.cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    args = ap.parse_args()
    n = args.n
    serials = range(100_000, 100_000 + n)
    layout = load_layout("document-cover")
    markings = [make_marking("机密", 10, (k, 5)) for k in range(1, 6)]

    base, codes = min(timed(lambda: [make_carrier_code("BJ", s) for s in serials]) for _ in range(args.repeat))
    assert isinstance(codes, list)
    base_epc = min(timed(lambda: [carrier_code_to_epc(c, "6901234") for c in codes])[0] for _ in range(args.repeat))
    contents: list[LabelContent] = [
        carrier_content(c, markings[i % 5], title=f"京密〔2025〕{i + 1}号") for i, c in enumerate(codes)
    ]
    print(f"labels benchmark, {n} labels")
    print(f"  baseline: build {n} carrier codes          {base * 1000:9.1f} ms")
    print(f"  baseline: build {n} codes + GIAI-96 EPCs   {(base + base_epc) * 1000:9.1f} ms")

    rows: list[tuple[str, float, float | None]] = []

    def run(name: str, fn: Callable[[], object], target: float | None) -> object:
        """Best of ``args.repeat`` cold runs: the figure least disturbed by whatever else the machine is doing."""
        best, out = float("inf"), None
        for _ in range(args.repeat):
            fresh_caches()
            t, out = timed(fn)
            best = min(best, t)
        rows.append((name, best, target))
        return out

    gfa, resident = ZplOptions(dpi=203), ZplOptions(dpi=203, cjk_font="E:SIMSUN.TTF")
    rfid = RfidSpec(company_prefix="6901234")
    zpl = run("ZPL, CJK as ^GFA graphics", lambda: render_zpl_batch(layout, contents, gfa), 1.0)
    run("ZPL, printer-resident CJK font", lambda: render_zpl_batch(layout, contents, resident), 1.0)
    run("ZPL + RFID encode (GIAI-96)", lambda: render_zpl_batch(layout, contents, gfa, rfid), 1.0)
    run("TSPL (TSS24.BF2)", lambda: render_tspl_batch(layout, contents), 1.0)
    pdf = run("PDF, A4 sheets a4-70x37, embedded font", lambda: render_pdf_sheet(layout, contents, "a4-70x37"), 15.0)
    run(
        "PDF, A4 sheets, built-in STSong-Light",
        lambda: render_pdf_sheet(layout, contents, "a4-70x37", cjk_font=CJK_FONT),
        15.0,
    )
    m = min(100, n)
    run(f"PNG previews ({m} labels, 300 dpi)", lambda: [render_png(layout, c) for c in contents[:m]], None)

    print(f"  {'what':40} {'time':>10} {'per label':>10} {'x baseline':>11} {'target':>8}")
    for name, t, target in rows:
        count = m if name.startswith("PNG") else n
        verdict = "" if target is None else ("ok" if targets.check(name, t <= target) == "met" else "MISSED")
        tgt = "" if target is None else f"≤{target:g} s"
        print(f"  {name:40} {t:9.3f}s {t / count * 1000:8.3f}ms {t / base:10.0f}x {tgt:>8} {verdict}")
    assert isinstance(zpl, str) and isinstance(pdf, bytes)
    print(f"  ZPL stream {len(zpl) / 1e6:.1f} MB, PDF {len(pdf) / 1e6:.1f} MB ({-(-n // 24)} pages)")


if __name__ == "__main__":
    main()
    raise SystemExit(targets.status())
