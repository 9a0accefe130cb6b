"""The one-line bar at the top of every screen: where you are, the configured devices, who is signed in, and the
register's time.

The time comes from the register's clock (not the wall clock) so what the operator sees matches what the ledger
records, and so screenshots taken with a fixed clock are reproducible. Text is plain, never markup. Devices show as
a name with a mark (✓ connected, … reconnecting, ✗ error or unplugged) and nothing at all when none is configured,
so a counter with only a keyboard-wedge scanner looks as it always did.
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
        devices = device_summary(self.ctx.devices)
        width = max(self.size.width, 40)
        gap = max(1, width - left.cell_len - devices.cell_len - Text(right).cell_len)
        self.update(Text.assemble(left, devices, " " * gap, right), layout=False)

    def on_resize(self) -> None:
        self.refresh_bar()


DEVICE_MARKS = {"connected": ("✓", "green"), "reconnecting": ("…", "yellow"), "disconnected": ("✗", "red"),
                "error": ("✗", "red"), "opening": ("…", "yellow")}


def device_summary(devices: dict[str, tuple[str, str]]) -> Text:
    """The devices as " name✓ pad✗" — short, because at 80 columns the bar also carries the operator and time."""
    out = Text()
    for name, (state, _detail) in devices.items():
        mark, style = DEVICE_MARKS.get(state, ("?", "yellow"))
        out.append(f" {name}")
        out.append(mark, style=f"bold {style}")
    return out
