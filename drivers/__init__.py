"""Hardware drivers: scanners, cameras, handheld batch files and RFID readers, each yielding `drivers.reads.Read`.

Nothing here imports `tracker` or `tui`.
"""
