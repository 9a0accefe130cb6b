"""The ledger's canonical encoding is frozen: every event ever hashed must hash the same forever. The encoders are
built once for speed (tracker.ledger._encoder); these tests hold them to `json.JSONEncoder.encode`, byte for byte,
and to a hash computed before that change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tracker.ledger import _FIELDS, _PAYLOAD, canonical_payload, event_hash

DOCUMENTS: list[Any] = [
    {},
    {"b": 1, "a": [None, True, False, 0, -3, 1.5, 1e100, "x"]},
    {"text": 'quote " back \\ tab \t nl \n 密 😀 \x01 \u2028', "nested": {"z": {"y": []}}},
    {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "n": {"k": {1, 2} - {1, 2}}},
    [1, "two", None, {"three": 3}],
    "just text 文本",
    42,
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_encoders_match_json_encode(document: Any) -> None:
    payload = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    fields = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    assert _PAYLOAD(document) == payload.encode(document)
    if not isinstance(document, dict) or "when" not in document:
        assert _FIELDS(document) == fields.encode(document)


def test_fields_encoder_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        _FIELDS([datetime(2026, 1, 1, tzinfo=UTC)])


def test_event_hash_is_unchanged() -> None:
    """Known answer, computed with the encoders as they were before they were built once."""
    payload = canonical_payload({"z": 1, "a": ["x", None, True, 1.5], "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                                 "text": 'quote " back \\ tab \t nl \n 密 😀 \x01'})
    assert payload == ('{"a":["x",null,true,1.5],"text":"quote \\" back \\\\ tab \\t nl \\n 密 😀 \\u0001",'
                       '"when":"2026-01-02 03:04:05+00:00","z":1}')
    fields = (7, "2026-11-26T03:00:00.000000Z", "registered", "BJ-0000075", "B-BJ-00001A", None, None, None,
              "LOC-BJ-R2C1S1X", None, 12, "counter 1", payload, "0" * 64)
    assert event_hash(fields) == event_hash(list(fields)) == (
        "0f7202ec1945476620294355d7a6a4d45971cc411b139bc3c2635c4272a77d05")
