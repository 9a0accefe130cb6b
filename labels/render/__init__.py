"""Renderers of a placed label: `raster` (PNG), `svg`, `pdf` (sheets, calibration), `zpl` (with RFID), `tspl`.
All draw the same placed elements from `labels.layout`, with barcode geometry from `labels.render.common`."""
