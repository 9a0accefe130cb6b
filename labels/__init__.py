"""Identifiers, classification markings and printable labels. Nothing here imports `tracker` or `tui`."""
