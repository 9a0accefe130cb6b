"""The one-line bar at the top of every screen: where you are, who is signed in, and the register's time.

The time comes from the register's clock (not the wall clock) so what the operator sees matches what the ledger
records, and so screenshots taken with a fixed clock are reproducible. Text is plain, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.context import AppContext
from tui.i18n import _


class TopBar(Static):
    DEFAULT_CLASSES = "topbar"

    def __init__(self, ctx: AppContext, title: str, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.ctx = ctx
        self.title = title

    def on_mount(self) -> None:
        self.refresh_bar()
        self.set_interval(30, self.refresh_bar)

    def refresh_bar(self) -> None:
        now = self.ctx.store.clock().astimezone(self.ctx.store.policy.tz)
        who = f"{self.ctx.operator_name} {self.ctx.actor.badge}" if self.ctx.actor else _("not signed in")
        left = Text(f" {self.title} ", style="bold")
        right = f"{who}  {now:%Y-%m-%d %H:%M} "
        width = max(self.size.width, 40)
        gap = max(1, width - left.cell_len - Text(right).cell_len)
        self.update(Text.assemble(left, " " * gap, right), layout=False)

    def on_resize(self) -> None:
        self.refresh_bar()
