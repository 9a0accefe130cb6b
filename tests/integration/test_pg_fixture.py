"""The fixtures themselves: both databases come up migrated, with the ledger's genesis head."""

from tracker.store import Store


def test_fresh_register_has_genesis_head(store: Store) -> None:
    with store.uow(readonly=True) as uow:
        assert uow.ledger.head() == (0, "0" * 64)
    assert store.current_revision() == store.head_revision()
