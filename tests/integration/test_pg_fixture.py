"""The fixtures themselves: both databases come up migrated, with the policy seeded as the first event."""

from tracker.store import Store


def test_fresh_register_has_genesis_head(store: Store) -> None:
    with store.uow(readonly=True) as uow:
        # The only event of a fresh register is the seeding of the packaged policy (version 1), chained from genesis.
        head = uow.ledger.head()
        assert head[0] == 1
    assert store.current_revision() == store.head_revision()
