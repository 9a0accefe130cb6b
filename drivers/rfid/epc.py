"""Just enough EPC decoding to tell our tags from everybody else's: the scheme (from the 8-bit header) and the
GS1 company prefix (from the partition) of the 96-bit GS1 schemes.

The inventory uses this to keep foreign tags — another company's retail tags on a visitor's bag, a supplier's
pallet tag — apart from the register's own carriers. Full EPC encoding and label work belong to `labels`; this
module must never import `labels`, `tracker` or `tui`, and never fail on an EPC it does not understand (it is
simply "unknown scheme").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

# 8-bit EPC headers of the 96-bit GS1 schemes (GS1 EPC Tag Data Standard, table 14-1).
GS1_96 = {
    0x30: "sgtin-96",
    0x31: "sscc-96",
    0x32: "sgln-96",
    0x33: "grai-96",
    0x34: "giai-96",
    0x2D: "gsrn-96",
    0x2C: "gdti-96",
}
SCHEME_HEADERS = {name: header for header, name in GS1_96.items()}
# Partition value -> (company prefix bits, digits); the same column for every GS1 scheme above.
PARTITIONS = {0: (40, 12), 1: (37, 11), 2: (34, 10), 3: (30, 9), 4: (27, 8), 5: (24, 7), 6: (20, 6)}


@dataclass(frozen=True, slots=True)
class EpcInfo:
    scheme: str | None
    company_prefix: str | None
    filter_value: int | None = None


@lru_cache(maxsize=65536)
def classify(epc: str) -> EpcInfo:
    """Scheme and company prefix of an EPC in hex; `EpcInfo(None, None)` for anything else."""
    if len(epc) != 24:
        return EpcInfo(None, None)
    try:
        value = int(epc, 16)
    except ValueError:
        return EpcInfo(None, None)
    scheme = GS1_96.get(value >> 88)
    if scheme is None:
        return EpcInfo(None, None)
    filter_value = (value >> 85) & 0x7
    partition = (value >> 82) & 0x7
    if partition not in PARTITIONS:
        return EpcInfo(scheme, None, filter_value)
    bits, digits = PARTITIONS[partition]
    prefix = (value >> (82 - bits)) & ((1 << bits) - 1)
    if prefix >= 10**digits:
        return EpcInfo(scheme, None, filter_value)
    return EpcInfo(scheme, str(prefix).zfill(digits), filter_value)


def encode_gs1_96(scheme: str, company_prefix: str, reference: int, filter_value: int = 0) -> str:
    """A 96-bit GS1 EPC in hex with `reference` in the bits after the company prefix (item and serial packed
    together). Enough for emulators and tests; labels are encoded by `labels`."""
    try:
        header = SCHEME_HEADERS[scheme]
    except KeyError:
        raise ValueError(f"unknown scheme {scheme!r}; known: {', '.join(SCHEME_HEADERS)}") from None
    digits = len(company_prefix)
    partition = next((p for p, (_, d) in PARTITIONS.items() if d == digits), None)
    if partition is None or not company_prefix.isdigit():
        raise ValueError(f"company prefix must be 6 to 12 digits, not {company_prefix!r}")
    bits = PARTITIONS[partition][0]
    rest_bits = 82 - bits
    if not 0 <= reference < (1 << rest_bits):
        raise ValueError(f"reference does not fit in {rest_bits} bits")
    value = (header << 88) | (filter_value << 85) | (partition << 82) | (int(company_prefix) << rest_bits)
    return f"{value | reference:024X}"


@dataclass(frozen=True)
class EpcPolicy:
    """Which EPCs are ours. Empty criteria accept everything (a reader used outside any register).

    An EPC is ours when it starts with one of `hex_prefixes`, or when its scheme is among `schemes` (if given)
    and its company prefix among `company_prefixes` (if given).
    """

    schemes: frozenset[str] = field(default_factory=frozenset)
    company_prefixes: frozenset[str] = field(default_factory=frozenset)
    hex_prefixes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        schemes: Iterable[str] = (),
        company_prefixes: Iterable[str] = (),
        hex_prefixes: Iterable[str] = (),
    ) -> EpcPolicy:
        return cls(frozenset(schemes), frozenset(company_prefixes), tuple(p.upper() for p in hex_prefixes))

    @property
    def open(self) -> bool:
        return not (self.schemes or self.company_prefixes or self.hex_prefixes)

    def is_own(self, epc: str) -> bool:
        if self.open:
            return True
        if self.hex_prefixes and epc.startswith(self.hex_prefixes):
            return True
        if not (self.schemes or self.company_prefixes):
            return False
        info = classify(epc)
        if self.schemes and info.scheme not in self.schemes:
            return False
        return not self.company_prefixes or info.company_prefix in self.company_prefixes
