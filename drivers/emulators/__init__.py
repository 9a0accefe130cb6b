"""Byte-exact emulators of the devices the drivers talk to, over a pty pair or a socket.

Tests drive the real drivers against these (never mocks), and `tracker devices simulate` runs them so a
counter can be tried without hardware. Each emulator implements its device's protocol on its own, without
importing the driver it stands in for, so a mistake in a driver is not silently mirrored by its emulator.
"""
