"""Only our own tags are carriers: a GIAI-96 tag under any company prefix but the register's own decodes to no
carrier code, however carrier-like its asset number, whether the register has one prefix, several or none."""

from __future__ import annotations

import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from labels.codes import carrier_code_to_epc, decode_epc, epc_to_carrier_code, make_carrier_code

OURS = "6901234"
prefixes = st.from_regex(r"[0-9]{6,9}", fullmatch=True)
sites = st.text(string.ascii_uppercase, min_size=2, max_size=4)
serials = st.integers(0, 999_999_999)


@settings(max_examples=300, deadline=None)
@given(foreign=prefixes, site=sites, serial=serials, ours=st.lists(prefixes, max_size=3))
def test_a_foreign_prefix_giai_tag_is_an_unknown_tag(foreign: str, site: str, serial: int, ours: list[str]) -> None:
    assume(foreign not in ours)
    code = make_carrier_code(site, serial)
    try:
        epc = carrier_code_to_epc(code, foreign)  # another organisation numbering its assets as we number ours
    except ValueError:
        assume(False)  # a long prefix leaves too few bits for this serial: no such tag exists
    ident = decode_epc(epc)
    assert ident is not None and ident.carrier_code == code  # it does look like one of our carriers …
    assert epc_to_carrier_code(epc, ours) is None  # … yet it is not one
    assert epc_to_carrier_code(epc, ours[0] if ours else None) is None
    assert epc_to_carrier_code(epc, [*ours, foreign]) == code  # under its own prefix it would be


def test_no_prefix_means_no_giai_tag_is_ours_and_gid_tags_still_are() -> None:
    code = make_carrier_code("BJ", 123)
    assert epc_to_carrier_code(carrier_code_to_epc(code, OURS)) is None
    assert epc_to_carrier_code(carrier_code_to_epc(code, OURS), OURS) == code
    assert epc_to_carrier_code(carrier_code_to_epc(code, OURS), f" {OURS} ") == code
    assert epc_to_carrier_code(carrier_code_to_epc(code)) == code  # GID-96 under our manager number
    assert epc_to_carrier_code(carrier_code_to_epc(code), OURS) == code
