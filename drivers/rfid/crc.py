"""Checksums of the RFID reader protocols and of the Gen2 air interface, as pure functions of bytes.

This module owns the arithmetic only: which bytes a protocol covers, and in what order the result goes on the
wire, is the codec's business. It must never do I/O. Table-driven where a table exists so the codecs stay fast
enough for the aggregation benchmark.
"""

from __future__ import annotations

from binascii import crc_hqx


def _table_lsb(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_X8408 = _table_lsb(0x8408)

# ThingMagic's serial_reader_l3.c shifts each nibble *into* the register before the table step, so it is not
# the textbook CRC-CCITT although it uses the same polynomial; its 16-entry table is the multiples of 0x1021.
_TM_NIBBLE = tuple(n * 0x1021 for n in range(16))


def crc16_gen2(data: bytes) -> int:
    """The EPC Gen2 tag CRC-16 (ISO/IEC 18000-63: poly 0x1021, preset 0xFFFF, result complemented).

    A tag backscatters it after PC+EPC; readers that pass it on let us reject a corrupted EPC even when the
    reader's own frame checksum happens to match.
    """
    # CRC-16/GENIBUS is the direct CRC-CCITT with preset 0xFFFF, complemented: binascii does it in C.
    return crc_hqx(data, 0xFFFF) ^ 0xFFFF


def crc16_mcrf4xx(data: bytes) -> int:
    """CRC-16 of the Chafon / UHFReader18 protocol: reflected poly 0x8408, preset 0xFFFF, no final xor.

    Sent low byte first.
    """
    crc = 0xFFFF
    table = _X8408
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _crc16_thingmagic_nibbles(data: bytes, crc: int = 0xFFFF) -> int:
    """The reference algorithm, nibble by nibble, exactly as serial_reader_l3.c writes it."""
    table = _TM_NIBBLE
    for byte in data:
        crc = (((crc << 4) | (byte >> 4)) ^ table[crc >> 12]) & 0xFFFF
        crc = (((crc << 4) | (byte & 0x0F)) ^ table[crc >> 12]) & 0xFFFF
    return crc


# ThingMagic's loop shifts data into the register without the 16 zero bits of augmentation, so it equals the
# direct CRC-CCITT of all but the last two bytes (from the preset the reference reaches after two zero bytes)
# with the last two bytes xored in: the C implementation in binascii does the work.
_TM_DIRECT_PRESET = _crc16_thingmagic_nibbles(b"\x00\x00")


def crc16_thingmagic(data: bytes) -> int:
    """The ThingMagic Mercury serial-protocol CRC (serial_reader_l3.c), sent high byte first."""
    if len(data) < 2:
        return _crc16_thingmagic_nibbles(data)
    return crc_hqx(data[:-2], _TM_DIRECT_PRESET) ^ ((data[-2] << 8) | data[-1])


def checksum8(data: bytes) -> int:
    """The MagicRF M100 frame checksum: the low byte of the plain sum."""
    return sum(data) & 0xFF
