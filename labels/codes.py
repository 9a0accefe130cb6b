"""Identifier formats: carrier, location and badge codes with an ISO/IEC 7064 check character, and the EPC written
into RFID tags. This module owns the shape of every code the register prints or scans, and the mapping between a
carrier code and its EPC. It must never encode the classification level (or anything else about the carrier) in a code
or an EPC: a code says *which* carrier, never *what* it holds. It does no I/O and imports nothing from the register.

Code shapes (all upper case; scanned text is stripped and upper-cased before it is checked):

    carrier   ``BJ-0001238``        site (2-4 letters) ``-`` serial (6-9 digits, zero-padded to 6) check
    location  ``LOC-BJ-R3C2S4R``    ``LOC-`` site ``-`` place (1-12 letters/digits) check
    badge     ``B-BJ-00042T``       ``B-`` site ``-`` person number (1-12 letters/digits) check
    package   ``PKG-BJ-000001X``    ``PKG-`` site ``-`` serial (6-9 digits, zero-padded to 6) check: an envelope,
                                    bag or box carriers travel in (it holds carriers; it is never one)
    epc       ``3415A537C8...``     24 hexadecimal digits (a 96-bit EPC as an RFID reader reports it)

The check character is ISO/IEC 7064 MOD 37-2 over the whole code text before it, prefix and hyphens included (a
hyphen counts as the 37th symbol, value 36), so ``LOC-AA-A0`` and ``LOC-AAA-0`` differ in their check too. It is one
of ``0-9``, ``A-Z`` or ``*``; MOD 37-2 is the ISO 7064 pure system that detects every single substitution and every
transposition of two adjacent characters, check character included, which the hybrid MOD 37,36 (letters and digits
only) does not. The one cost is that about one code in 37 ends in ``*``: quote such codes in a shell.

EPC (SGTIN-like schemes are for trade items; carriers are assets):
  * GIAI-96 when the site has a GS1 company prefix: ``urn:epc:id:giai:<prefix>.<site number><serial:09d>``,
  * GID-96 when it has none: ``urn:epc:id:gid:<manager>.<site number>.<serial>`` (manager 0 unless configured),
where the site number is the site prefix read as a bijective base-26 number (``A`` = 1 … ``Z`` = 26, ``BJ`` = 62).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_GID_MANAGER",
    "BadgeCode",
    "CarrierCode",
    "CheckCharacterError",
    "CodeError",
    "CodeKind",
    "CodeShapeError",
    "EpcError",
    "EpcIdentity",
    "LocationCode",
    "PackageCode",
    "carrier_code_to_epc",
    "check_character",
    "classify_code",
    "decode_epc",
    "epc_to_carrier_code",
    "is_valid_check",
    "make_badge_code",
    "make_carrier_code",
    "make_location_code",
    "make_package_code",
    "normalize",
    "parse_badge_code",
    "parse_carrier_code",
    "parse_location_code",
    "parse_package_code",
    "validate_company_prefix",
]

CodeKind = Literal["carrier", "location", "badge", "package", "epc", "unknown"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"  # check characters, by value
_CHECK_VALUE = {c: i for i, c in enumerate(_ALPHABET)}
_VALUE = {**{c: i for i, c in enumerate(_ALPHABET[:36])}, "-": 36}  # symbols of the text before the check
_MODULUS = 37

SERIAL_MIN_DIGITS = 6
SERIAL_MAX = 999_999_999
DEFAULT_GID_MANAGER = 0
_GIAI_SERIAL_DIGITS = 9

_SITE = r"[A-Z]{2,4}"
_CARRIER_RE = re.compile(rf"(?P<site>{_SITE})-(?P<serial>[0-9]{{6,9}})(?P<check>[0-9A-Z*])")
_LOCATION_RE = re.compile(rf"LOC-(?P<site>{_SITE})-(?P<place>[0-9A-Z]{{1,12}})(?P<check>[0-9A-Z*])")
_BADGE_RE = re.compile(rf"B-(?P<site>{_SITE})-(?P<person>[0-9A-Z]{{1,12}})(?P<check>[0-9A-Z*])")
_PACKAGE_RE = re.compile(rf"PKG-(?P<site>{_SITE})-(?P<serial>[0-9]{{6,9}})(?P<check>[0-9A-Z*])")
_EPC_RE = re.compile(r"[0-9A-F]{24}")
_SITE_RE = re.compile(_SITE)
_PART_RE = re.compile(r"[0-9A-Z]{1,12}")


class CodeError(ValueError):
    """A code was refused. Carries the reason in English and Chinese so any screen can show it as is."""

    def __init__(self, text: str, message_en: str, message_zh: str) -> None:
        self.text = text
        self.message_en = message_en
        self.message_zh = message_zh
        super().__init__(f"{message_en} / {message_zh}")


class CodeShapeError(CodeError):
    """The text does not have the shape of the expected kind of code (or the arguments cannot make one)."""


class CheckCharacterError(CodeError):
    """The shape is right but the check character is wrong: a misread or mistyped code, never another carrier."""


class EpcError(CodeError):
    """A carrier code cannot be put into the requested EPC scheme (e.g. a company prefix too long for the serial)."""


def normalize(text: str) -> str:
    """Scanners and keyboards add whitespace and lower case; neither changes which code was meant."""
    return text.strip().upper()


def check_character(payload: str) -> str:
    """ISO/IEC 7064 MOD 37-2 check character for ``payload`` (letters, digits and hyphens)."""
    p = 0
    for ch in payload:
        try:
            p = ((p + _VALUE[ch]) * 2) % _MODULUS
        except KeyError:
            raise CodeShapeError(
                payload,
                f"{ch!r} cannot appear in a code (only A-Z, 0-9 and -)",
                f"编码中不能出现字符 {ch!r}（只允许 A-Z、0-9 和 -）",
            ) from None
    return _ALPHABET[(1 - p) % _MODULUS]


def is_valid_check(payload_with_check: str) -> bool:
    """True when the last character is the MOD 37-2 check character of the rest."""
    body, check = payload_with_check[:-1], payload_with_check[-1:]
    if not body or check not in _CHECK_VALUE or any(c not in _VALUE for c in body):
        return False
    p = 0
    for ch in body:
        p = ((p + _VALUE[ch]) * 2) % _MODULUS
    return (p + _CHECK_VALUE[check]) % _MODULUS == 1


class _Printed:
    """A parsed code shows as the text printed on its label, so logging or formatting one never shows a repr."""

    __slots__ = ()

    @property
    def text(self) -> str:  # pragma: no cover - every code has its own
        raise NotImplementedError

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class CarrierCode(_Printed):
    """A carrier's identity as printed on its label: 载体编号."""

    site: str
    serial: int
    check: str

    @property
    def text(self) -> str:
        return f"{self.site}-{self.serial:0{SERIAL_MIN_DIGITS}d}{self.check}"


@dataclass(frozen=True, slots=True)
class LocationCode(_Printed):
    """A storage place (cabinet, shelf, safe) as printed on its shelf label: 存放位置."""

    site: str
    place: str
    check: str

    @property
    def text(self) -> str:
        return f"LOC-{self.site}-{self.place}{self.check}"


@dataclass(frozen=True, slots=True)
class BadgeCode(_Printed):
    """A person's badge (工作证/门禁卡) code, scanned at the counter to identify giver and taker."""

    site: str
    person: str
    check: str

    @property
    def text(self) -> str:
        return f"B-{self.site}-{self.person}{self.check}"


@dataclass(frozen=True, slots=True)
class PackageCode(_Printed):
    """A package (envelope, bag, box: 封装) as printed on its label; its seal number is recorded beside it."""

    site: str
    serial: int
    check: str

    @property
    def text(self) -> str:
        return f"PKG-{self.site}-{self.serial:0{SERIAL_MIN_DIGITS}d}{self.check}"


def _check_site(site: str) -> str:
    s = normalize(site)
    if not _SITE_RE.fullmatch(s):
        raise CodeShapeError(
            site,
            f"site prefix {site!r} must be 2 to 4 letters A-Z",
            f"单位前缀 {site!r} 必须是 2 至 4 个字母 A-Z",
        )
    return s


def _check_part(part: str | int, what_en: str, what_zh: str) -> str:
    s = normalize(str(part))
    if not _PART_RE.fullmatch(s):
        raise CodeShapeError(
            str(part),
            f"{what_en} {part!r} must be 1 to 12 letters A-Z or digits",
            f"{what_zh} {part!r} 必须是 1 至 12 个字母 A-Z 或数字",
        )
    return s


def make_carrier_code(site: str, serial: int) -> str:
    """The printed code of serial number ``serial`` at ``site``, e.g. ``make_carrier_code("BJ", 123) == "BJ-0001238"``.

    The serial is zero-padded to six digits and may grow to nine, so there is exactly one text per (site, serial):
    a zero-padded variant of a valid code is refused by the parser rather than taken as the same carrier.
    """
    s = _check_site(site)
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial <= SERIAL_MAX:
        raise CodeShapeError(
            str(serial),
            f"carrier serial must be a whole number from 0 to {SERIAL_MAX}, not {serial!r}",
            f"载体序号必须是 0 至 {SERIAL_MAX} 的整数，而不是 {serial!r}",
        )
    return _with_check(f"{s}-{serial:0{SERIAL_MIN_DIGITS}d}")


def make_location_code(site: str, place: str) -> str:
    """Shelf-label code of a storage place, e.g. ``make_location_code("BJ", "R3C2S4")`` (room 3, cabinet 2, shelf 4)."""
    return _with_check(f"LOC-{_check_site(site)}-{_check_part(place, 'place', '位置')}")


def make_badge_code(site: str, person: str | int) -> str:
    """Badge code of a person (staff number), e.g. ``make_badge_code("BJ", "00042")``."""
    return _with_check(f"B-{_check_site(site)}-{_check_part(person, 'person number', '人员编号')}")


def make_package_code(site: str, serial: int) -> str:
    """Label code of package ``serial`` at ``site``, e.g. ``make_package_code("BJ", 1)``; padded like a carrier's."""
    s = _check_site(site)
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial <= SERIAL_MAX:
        raise CodeShapeError(
            str(serial),
            f"package serial must be a whole number from 0 to {SERIAL_MAX}, not {serial!r}",
            f"封装序号必须是 0 至 {SERIAL_MAX} 的整数，而不是 {serial!r}",
        )
    return _with_check(f"PKG-{s}-{serial:0{SERIAL_MIN_DIGITS}d}")


def _with_check(body: str) -> str:
    return body + check_character(body)


def _shape_error(text: str, kind_en: str, kind_zh: str, example: str) -> CodeShapeError:
    return CodeShapeError(
        text,
        f"{text!r} is not a {kind_en} code (expected the form {example})",
        f"{text!r} 不是{kind_zh}编码（应为 {example} 的形式）",
    )


def _check_error(text: str, kind_en: str, kind_zh: str) -> CheckCharacterError:
    return CheckCharacterError(
        text,
        f"{text!r} has a wrong check character: the {kind_en} code was misread or mistyped; scan or type it again",
        f"{text!r} 校验位错误：{kind_zh}编码读错或输错，请重新扫描或输入",
    )


def parse_carrier_code(text: str) -> CarrierCode:
    """Parse and verify a carrier code; raises ``CodeShapeError`` or ``CheckCharacterError`` (both ``CodeError``)."""
    t = normalize(text)
    m = _CARRIER_RE.fullmatch(t)
    if m is None:
        raise _shape_error(text, "carrier", "载体", "BJ-0001238")
    site, digits, check = m.group("site"), m.group("serial"), m.group("check")
    serial = int(digits)
    if digits != f"{serial:0{SERIAL_MIN_DIGITS}d}":
        raise CodeShapeError(
            text,
            f"{text!r} has extra leading zeros in its serial; carrier serials are padded to exactly "
            f"{SERIAL_MIN_DIGITS} digits",
            f"{text!r} 的序号多了前导零；载体序号恰好补足 {SERIAL_MIN_DIGITS} 位",
        )
    if not is_valid_check(t):
        raise _check_error(text, "carrier", "载体")
    return CarrierCode(site, serial, check)


def _verified(text: str, pattern: re.Pattern[str], kind_en: str, kind_zh: str, example: str) -> re.Match[str]:
    """The match of a code whose shape and check character are both right; the shape is judged first so that a
    code of the wrong kind is reported as such, not as a misread."""
    t = normalize(text)
    m = pattern.fullmatch(t)
    if m is None:
        raise _shape_error(text, kind_en, kind_zh, example)
    if not is_valid_check(t):
        raise _check_error(text, kind_en, kind_zh)
    return m


def parse_location_code(text: str) -> LocationCode:
    """Parse and verify a location (shelf) code."""
    m = _verified(text, _LOCATION_RE, "location", "位置", "LOC-BJ-R3C2S4R")
    return LocationCode(m["site"], m["place"], m["check"])


def parse_badge_code(text: str) -> BadgeCode:
    """Parse and verify a badge code."""
    m = _verified(text, _BADGE_RE, "badge", "证件", "B-BJ-00042T")
    return BadgeCode(m["site"], m["person"], m["check"])


def parse_package_code(text: str) -> PackageCode:
    """Parse and verify a package code (one exact text per serial, as for carriers)."""
    m = _verified(text, _PACKAGE_RE, "package", "封装", "PKG-BJ-000001X")
    serial = int(m["serial"])
    if m["serial"] != f"{serial:0{SERIAL_MIN_DIGITS}d}":
        raise CodeShapeError(text, f"{text!r} has extra leading zeros in its serial",
                             f"{text!r} 的序号多了前导零")
    return PackageCode(m["site"], serial, m["check"])


def classify_code(text: str) -> CodeKind:
    """Which kind of code ``text`` is by its shape alone; the caller still parses it (and so verifies the check).

    The shapes are disjoint: a carrier code starts with 2-4 letters and a hyphen followed by a digit, a location
    code with ``LOC-``, a badge with ``B-`` (a single letter), a package with ``PKG-`` followed by letters (a carrier's
    first hyphen is followed by a digit), an EPC is 24 hex digits with no hyphen.
    """
    t = normalize(text)
    if _CARRIER_RE.fullmatch(t):
        return "carrier"
    if _LOCATION_RE.fullmatch(t):
        return "location"
    if _BADGE_RE.fullmatch(t):
        return "badge"
    if _PACKAGE_RE.fullmatch(t):
        return "package"
    if _EPC_RE.fullmatch(t):
        return "epc"
    return "unknown"


# --- EPC -------------------------------------------------------------------------------------------------------


def site_number(site: str) -> int:
    """Bijective base-26 value of a site prefix (``AA`` = 27, ``BJ`` = 62, ``ZZZZ`` = 475254)."""
    n = 0
    for ch in _check_site(site):
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n


def site_from_number(number: int) -> str | None:
    """Inverse of ``site_number``; ``None`` when the number is not a 2-4 letter prefix."""
    letters: list[str] = []
    n = number
    while n > 0:
        n, r = divmod(n - 1, 26)
        letters.append(chr(ord("A") + r))
    site = "".join(reversed(letters))
    return site if _SITE_RE.fullmatch(site) else None


@dataclass(frozen=True, slots=True)
class EpcIdentity:
    """What a 96-bit EPC says, before deciding whether it is one of ours."""

    scheme: Literal["giai-96", "gid-96", "other"]
    uri: str
    company_prefix: str | None = None
    manager: int | None = None
    carrier_code: str | None = None


def _validate_prefix(company_prefix: str) -> str:
    cp = company_prefix.strip()
    if not (cp.isascii() and cp.isdigit() and 6 <= len(cp) <= 12):
        raise EpcError(
            company_prefix,
            f"GS1 company prefix {company_prefix!r} must be 6 to 12 digits",
            f"GS1 厂商识别代码 {company_prefix!r} 必须是 6 至 12 位数字",
        )
    return cp


def carrier_code_to_epc(code: str, company_prefix: str | None = None, *, gid_manager: int = DEFAULT_GID_MANAGER) -> str:
    """The 96-bit EPC (24 upper-case hex digits) to write into the tag of carrier ``code``.

    GIAI-96 under ``company_prefix`` when given, else GID-96 under ``gid_manager``. The code's check character is
    verified first, and is not stored in the EPC: it is recomputed on the way back.
    """
    # epcpy is imported only where EPCs are made or read: it was a tenth of the command line's start-up (issue 22)
    from epcpy.epc_schemes.giai import GIAI, GIAIFilterValue
    from epcpy.epc_schemes.gid import GID
    from epcpy.utils.common import ConvertException

    cc = parse_carrier_code(code)
    sn = site_number(cc.site)
    try:
        if company_prefix is not None:
            cp = _validate_prefix(company_prefix)
            asset = f"{sn}{cc.serial:0{_GIAI_SERIAL_DIGITS}d}"
            giai = GIAI(f"urn:epc:id:giai:{cp}.{asset}")
            # tag_uri() is where epcpy checks the asset reference against the partition; hex() does not.
            giai.tag_uri(GIAI.BinaryCodingScheme.GIAI_96, GIAIFilterValue.ALL_OTHERS)
            hex_epc: str = giai.hex(
                binary_coding_scheme=GIAI.BinaryCodingScheme.GIAI_96, filter_value=GIAIFilterValue.ALL_OTHERS
            )
        else:
            if not 0 <= gid_manager < 2**28:
                raise EpcError(
                    str(gid_manager),
                    "GID manager number must be from 0 to 268435455",
                    "GID 管理者编号必须在 0 至 268435455 之间",
                )
            gid = GID(f"urn:epc:id:gid:{gid_manager}.{sn}.{cc.serial}")
            hex_epc = gid.hex()
    except ConvertException as exc:
        raise EpcError(
            code,
            f"{cc.text} does not fit a 96-bit EPC under company prefix {company_prefix!r} "
            f"({exc}); use a shorter prefix or GID-96",
            f"{cc.text} 在厂商识别代码 {company_prefix!r} 下放不进 96 位 EPC；请使用较短的代码或 GID-96",
        ) from exc
    hex_epc = hex_epc.upper()
    if len(hex_epc) != 24:  # tag_uri() validated the fields; this guards the binary packing
        raise EpcError(
            code,
            f"{cc.text} does not fit a 96-bit EPC under company prefix {company_prefix!r}; "
            "use a shorter prefix or GID-96",
            f"{cc.text} 在厂商识别代码 {company_prefix!r} 下放不进 96 位 EPC；请使用较短的代码或 GID-96",
        )
    return hex_epc


def decode_epc(hex_epc: str) -> EpcIdentity | None:
    """Decode a 96-bit EPC read from a tag; ``None`` when it is not a valid EPC at all."""
    from epcpy.epc_schemes.giai import GIAI
    from epcpy.epc_schemes.gid import GID
    from epcpy.utils.common import ConvertException
    from epcpy.utils.parsers import hex_to_tag_encodable

    h = normalize(hex_epc)
    if not _EPC_RE.fullmatch(h):
        return None
    try:
        tag = hex_to_tag_encodable(h)
    except (ConvertException, ValueError, KeyError, IndexError):
        return None
    uri: str = tag.epc_uri
    if isinstance(tag, GIAI):
        body = uri.split(":")[4]
        prefix, _, asset = body.partition(".")
        code = None
        if asset.isdigit() and len(asset) > _GIAI_SERIAL_DIGITS:
            site = site_from_number(int(asset[:-_GIAI_SERIAL_DIGITS]))
            if site is not None and not asset.startswith("0"):
                code = make_carrier_code(site, int(asset[-_GIAI_SERIAL_DIGITS:]))
        return EpcIdentity("giai-96", uri, company_prefix=prefix, carrier_code=code)
    if isinstance(tag, GID):
        manager, obj, serial = (int(x) for x in uri.split(":")[4].split("."))
        site = site_from_number(obj)
        code = make_carrier_code(site, serial) if site is not None and serial <= SERIAL_MAX else None
        return EpcIdentity("gid-96", uri, manager=manager, carrier_code=code)
    return EpcIdentity("other", uri)


def epc_to_carrier_code(
    hex_epc: str,
    company_prefixes: str | Iterable[str] | None = None,
    *,
    gid_manager: int = DEFAULT_GID_MANAGER,
) -> str | None:
    """The carrier code held in a tag's EPC, or ``None`` when the tag is not one of our carrier tags.

    A GIAI-96 tag is ours only under one of the register's own ``company_prefixes`` (one prefix or several); with
    none given, no GIAI tag is ours. Every company numbers its assets, so a supplier's asset tag on a laptop, or a
    visitor's, decodes to a carrier code of the same shape about one time in three: trusting the number alone made
    other organisations' tags our carriers. GID tags must carry ``gid_manager``.
    """
    ident = decode_epc(hex_epc)
    if ident is None or ident.carrier_code is None:
        return None
    if ident.scheme == "giai-96":
        ours = (company_prefixes,) if isinstance(company_prefixes, str) else tuple(company_prefixes or ())
        if ident.company_prefix not in {p.strip() for p in ours}:
            return None
        return ident.carrier_code
    if ident.scheme == "gid-96" and ident.manager == gid_manager:
        return ident.carrier_code
    return None


def validate_company_prefix(company_prefix: str) -> str:
    """A GS1 company prefix as the register keeps it (6 to 12 digits), or ``EpcError`` in English and Chinese."""
    return _validate_prefix(company_prefix)
