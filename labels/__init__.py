"""Identifiers, classification markings and printable labels. Nothing here imports `tracker` or `tui`.

`codes` (carrier/location/badge codes with an ISO 7064 MOD 37-2 check character; EPC GIAI-96/GID-96), `marking`
(密级★期限 and copy numbers), `layout` (TOML layouts and A4 sheets in `layouts/`, label content), `render` (PNG, SVG,
PDF, ZPL with RFID, TSPL), `printers` (TCP 9100, device file, serial, file sinks; status; the RFID conversation) and
`emulator` (a ZPL/TSPL printer with an RFID encoder on TCP or a pty, for tests and demos).
"""
