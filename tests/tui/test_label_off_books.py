"""The counter's label printing (register screen, print runs) makes no label for a carrier off the books (R-145)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tracker.services import approvals, destruction
from tui import printing


def test_no_label_pdf_for_a_destroyed_carrier(ui: Any) -> None:
    live, doomed = ui.carriers(lambda v: v.status == "in_store" and v.classification == "secret")[:2]
    store, clerk = ui.store, ui.sign("clerk")
    batch = destruction.new(store.uow(), clerk, "label test")  # destroyed through the workflow, as in the field
    destruction.add(store.uow(), clerk, batch, [doomed.code])
    number = destruction.submit(store.uow(), clerk, batch, store.clock() + timedelta(days=1))
    approvals.decide(store.uow(), ui.sign("approver"), number, True)
    destruction.scan(store.uow(), clerk, batch, [doomed.code])
    destruction.complete(store.uow(), ui.sign("clerk2"), batch, [ui.sign("officer"), ui.sign("auditor")],
                         {"*": "shredding"}, store.policy.destruction_sites[0])
    gone = ui.carrier(doomed.code)
    assert gone.status == "destroyed"
    with pytest.raises(printing.PrintError) as refused:
        printing.label_pdf(gone)
    assert "R-145" in refused.value.en and "R-145" in refused.value.zh and gone.code in refused.value.en
    assert printing.label_pdf(live).startswith(b"%PDF")
