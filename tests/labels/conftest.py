"""Fixtures for the labels tests: the printer emulator on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labels.emulator import LabelPrinterEmulator


@pytest.fixture
def printer() -> Iterator[LabelPrinterEmulator]:
    with LabelPrinterEmulator() as em:
        yield em
