"""Code formats: check characters catch every single substitution and adjacent transposition, shapes never overlap,
and EPCs round-trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labels.codes import (
    CarrierCode,
    CheckCharacterError,
    CodeError,
    CodeShapeError,
    EpcError,
    carrier_code_to_epc,
    check_character,
    classify_code,
    decode_epc,
    epc_to_carrier_code,
    make_badge_code,
    make_carrier_code,
    make_location_code,
    parse_badge_code,
    parse_carrier_code,
    parse_location_code,
    site_from_number,
    site_number,
)

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
sites = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=4)
serials = st.integers(min_value=0, max_value=999_999_999)
parts = st.text(alphabet=ALNUM, min_size=1, max_size=12)


def _accepted(text: str) -> bool:
    kind = classify_code(text)
    parser = {"carrier": parse_carrier_code, "location": parse_location_code, "badge": parse_badge_code}.get(kind)
    if parser is None:
        return False
    try:
        parser(text)
    except CodeError:
        return False
    return True


def test_iso_7064_mod_37_2_reference_value() -> None:
    # The worked example of ISO/IEC 7064 for MOD 37-2.
    assert check_character("G123498654321") == "H"


def test_examples() -> None:
    assert make_carrier_code("BJ", 123) == "BJ-0001238"
    assert parse_carrier_code(" bj-0001238\n") == CarrierCode("BJ", 123, "8")
    assert make_carrier_code("SHA", 1_234_567) == "SHA-1234567" + check_character("SHA-1234567")
    assert make_location_code("BJ", "R3C2S4") == "LOC-BJ-R3C2S4R"
    assert make_badge_code("BJ", "00042") == "B-BJ-00042T"
    assert parse_location_code("LOC-BJ-R3C2S4R").place == "R3C2S4"
    assert parse_badge_code("B-BJ-00042T").person == "00042"


def test_moving_a_hyphen_is_caught() -> None:
    # The check covers the hyphens: otherwise LOC-AA-A0 and LOC-AAA-0 would share a check character.
    a, b = make_location_code("AA", "A0"), make_location_code("AAA", "0")
    assert a[:-1].replace("-", "") == b[:-1].replace("-", "") and a[-1] != b[-1]
    assert not _accepted(b[:-1] + a[-1])


def test_some_codes_end_in_star_and_parse() -> None:
    code = next(c for c in (make_carrier_code("BJ", n) for n in range(500)) if c.endswith("*"))
    assert parse_carrier_code(code).text == code
    assert classify_code(code) == "carrier"


@settings(max_examples=150, deadline=None)
@given(site=sites, serial=serials, data=st.data())
def test_every_single_substitution_is_refused(site: str, serial: int, data: st.DataObject) -> None:
    code = make_carrier_code(site, serial)
    assert _accepted(code)
    i = data.draw(st.integers(0, len(code) - 1))
    replacement = data.draw(st.sampled_from([c for c in ALNUM + "*-" if c != code[i]]))
    mutated = code[:i] + replacement + code[i + 1 :]
    assert not _accepted(mutated), (code, mutated)


@settings(max_examples=150, deadline=None)
@given(site=sites, serial=serials, data=st.data())
def test_every_adjacent_transposition_is_refused(site: str, serial: int, data: st.DataObject) -> None:
    code = make_carrier_code(site, serial)
    swaps = [i for i in range(len(code) - 1) if code[i] != code[i + 1]]
    i = data.draw(st.sampled_from(swaps))
    mutated = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
    assert not _accepted(mutated), (code, mutated)


def test_exhaustive_substitutions_and_transpositions_of_one_code() -> None:
    code = make_carrier_code("BJ", 123)
    for i in range(len(code)):
        for c in ALNUM + "*":
            if c != code[i]:
                assert not _accepted(code[:i] + c + code[i + 1 :])
        if i + 1 < len(code) and code[i] != code[i + 1]:
            assert not _accepted(code[:i] + code[i + 1] + code[i] + code[i + 2 :])


@settings(max_examples=100, deadline=None)
@given(site=sites, place=parts, person=parts, data=st.data())
def test_location_and_badge_codes_refuse_substitutions_and_transpositions(
    site: str, place: str, person: str, data: st.DataObject
) -> None:
    for code in (make_location_code(site, place), make_badge_code(site, person)):
        assert _accepted(code)
        i = data.draw(st.integers(0, len(code) - 1))
        rep = data.draw(st.sampled_from([c for c in ALNUM + "*" if c != code[i]]))
        assert not _accepted(code[:i] + rep + code[i + 1 :])
        swaps = [j for j in range(len(code) - 1) if code[j] != code[j + 1]]
        j = data.draw(st.sampled_from(swaps))
        assert not _accepted(code[:j] + code[j + 1] + code[j] + code[j + 2 :])


@settings(max_examples=100, deadline=None)
@given(site=sites, serial=serials, place=parts, person=parts)
def test_shapes_are_disjoint(site: str, serial: int, place: str, person: str) -> None:
    carrier = make_carrier_code(site, serial)
    location = make_location_code(site, place)
    badge = make_badge_code(site, person)
    assert [classify_code(c) for c in (carrier, location, badge)] == ["carrier", "location", "badge"]
    assert classify_code(carrier_code_to_epc(carrier)) == "epc"
    with pytest.raises(CodeShapeError):
        parse_carrier_code(location)
    with pytest.raises(CodeShapeError):
        parse_location_code(badge)
    with pytest.raises(CodeShapeError):
        parse_badge_code(carrier)


def test_errors_are_specific_and_bilingual() -> None:
    with pytest.raises(CheckCharacterError) as bad_check:
        parse_carrier_code("BJ-000123K")
    assert "check character" in bad_check.value.message_en
    assert "校验位" in bad_check.value.message_zh
    with pytest.raises(CodeShapeError) as bad_shape:
        parse_carrier_code("BJ000123M")
    assert "BJ-0001238" in bad_shape.value.message_en and "载体" in bad_shape.value.message_zh
    with pytest.raises(CodeShapeError):
        parse_carrier_code("BJ-0000123" + check_character("BJ-0000123"))  # non-canonical zero padding
    with pytest.raises(CodeShapeError):
        make_carrier_code("B", 1)
    with pytest.raises(CodeShapeError):
        make_carrier_code("BJ", -1)
    with pytest.raises(CodeShapeError):
        make_carrier_code("BJ", 10**9)
    with pytest.raises(CodeShapeError):
        make_location_code("BJ", "R3-C2")
    assert classify_code("hello") == "unknown"
    assert classify_code("") == "unknown"


@settings(max_examples=100, deadline=None)
@given(site=sites, serial=serials)
def test_gid_epc_round_trip(site: str, serial: int) -> None:
    code = make_carrier_code(site, serial)
    epc = carrier_code_to_epc(code)
    assert len(epc) == 24 and epc.startswith("35")  # GID-96 header
    assert epc_to_carrier_code(epc) == code
    assert epc_to_carrier_code(epc.lower()) == code
    assert epc_to_carrier_code(epc, gid_manager=7) is None  # another manager's tag is not ours
    assert carrier_code_to_epc(code, gid_manager=7) != epc


@settings(max_examples=100, deadline=None)
@given(site=sites, serial=serials, prefix=st.from_regex(r"69[0-9]{5,7}", fullmatch=True))
def test_giai_epc_round_trip(site: str, serial: int, prefix: str) -> None:
    code = make_carrier_code(site, serial)
    epc = carrier_code_to_epc(code, prefix)
    assert len(epc) == 24 and epc.startswith("34")  # GIAI-96 header
    ident = decode_epc(epc)
    assert ident is not None and ident.scheme == "giai-96" and ident.company_prefix == prefix
    assert ident.uri.startswith(f"urn:epc:id:giai:{prefix}.")
    assert epc_to_carrier_code(epc, prefix) == code
    assert epc_to_carrier_code(epc, ["6999999", prefix]) == code
    assert epc_to_carrier_code(epc) is None  # no prefix of ours given: no GIAI tag is ours
    assert epc_to_carrier_code(epc, "6999999") is None or prefix == "6999999"


def test_epc_never_carries_the_level_and_refuses_what_does_not_fit() -> None:
    code = make_carrier_code("ZZZZ", 999_999_999)
    with pytest.raises(EpcError) as exc:
        carrier_code_to_epc(code, "690123456789")  # 12-digit prefix leaves 42 bits: too few
    assert "GID-96" in exc.value.message_en
    assert epc_to_carrier_code(carrier_code_to_epc(code, "690123456"), "690123456") == code
    with pytest.raises(EpcError):
        carrier_code_to_epc(code, "12AB")
    with pytest.raises(CheckCharacterError):
        carrier_code_to_epc("BJ-000123K")


def test_foreign_and_malformed_epcs_are_not_carriers() -> None:
    # An SGTIN-96 (a trade item), all zeros, garbage, too short.
    assert epc_to_carrier_code("3074257BF7194E4000001A85") is None
    assert epc_to_carrier_code("000000000000000000000000") is None
    assert epc_to_carrier_code("ZZ") is None
    assert epc_to_carrier_code("3500000000") is None
    assert decode_epc("3074257BF7194E4000001A85") is not None


@given(n=st.integers(min_value=27, max_value=475254))
def test_site_numbers_are_a_bijection(n: int) -> None:
    site = site_from_number(n)
    assert site is not None and site_number(site) == n
