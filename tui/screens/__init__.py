"""One module per screen (login, counter, handover, register, alerts, ledger, stock-take) and the small dialogs."""
