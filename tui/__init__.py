"""The counter: a keyboard-first Textual terminal UI over the register (`tracker tui`, entry point `tui.app.run`).

Screens call the register's services and read-only queries on worker threads and show what they answer; they never
decide a rule and never write the database except through `tracker.services`.
"""
