"""Barcode scanner drivers: every kind of scanner at the counter or the stock-take ends in
`drivers.reads.Read`.

Modules (import the one you need; nothing heavy is imported here): framing      pure line framer
(prefix/suffix/terminator, noise resync)    serial_line  line scanner driver ssi_packets  pure Zebra SSI
packets and framer                             ssi          SSI driver (ACK/NAK, commands) honeywell
Honeywell trigger, menu commands, ACK/NAK mode               wedge        keyboard-wedge burst detector camera
OpenCV capture + zxing-cpp / optional pyzbar decoding        batch        handheld batch files config
the [devices] table of tracker.toml -> drivers               aim, dedup   AIM ids, duplicate window

Live drivers share one surface (base.py): `start()`, `stop()`, `get(timeout)` / `next_read(timeout)` or an
`on_event` callback, delivering `Read` and `DeviceStatus` in order. Nothing here imports `tracker` or `tui`.
"""
