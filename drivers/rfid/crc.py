"""Checksums of the RFID reader protocols and of the Gen2 air interface, as pure functions of bytes.

This module owns the arithmetic only: which bytes a protocol covers, and in what order the result goes on the
wire, is the codec's business. It must never do I/O. Table-driven where a table exists so the codecs stay fast
enough for the aggregation benchmark.
"""

from __future__ import annotations


def _table_msb(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


def _table_lsb(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CCITT = _table_msb(0x1021)
_X8408 = _table_lsb(0x8408)

# ThingMagic's serial_reader_l3.c shifts each nibble *into* the register before the table step, so it is not
# the textbook CRC-CCITT although it uses the same polynomial; its 16-entry table is the multiples of 0x1021.
_TM_NIBBLE = tuple(n * 0x1021 for n in range(16))


def crc16_gen2(data: bytes) -> int:
    """The EPC Gen2 tag CRC-16 (ISO/IEC 18000-63: poly 0x1021, preset 0xFFFF, result complemented).

    A tag backscatters it after PC+EPC; readers that pass it on let us reject a corrupted EPC even when the
    reader's own frame checksum happens to match.
    """
    crc = 0xFFFF
    table = _CCITT
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc ^ 0xFFFF


def crc16_mcrf4xx(data: bytes) -> int:
    """CRC-16 of the Chafon / UHFReader18 protocol: reflected poly 0x8408, preset 0xFFFF, no final xor.

    Sent low byte first.
    """
    crc = 0xFFFF
    table = _X8408
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16_thingmagic(data: bytes) -> int:
    """The ThingMagic Mercury serial-protocol CRC (serial_reader_l3.c), sent high byte first."""
    crc = 0xFFFF
    table = _TM_NIBBLE
    for byte in data:
        crc = (((crc << 4) | (byte >> 4)) ^ table[crc >> 12]) & 0xFFFF
        crc = (((crc << 4) | (byte & 0x0F)) ^ table[crc >> 12]) & 0xFFFF
    return crc


def checksum8(data: bytes) -> int:
    """The MagicRF M100 frame checksum: the low byte of the plain sum."""
    return sum(data) & 0xFF
