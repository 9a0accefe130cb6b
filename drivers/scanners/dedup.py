"""The per-device duplicate window: the same code read again within `window` seconds is one read, not two.

This module owns only that rule. A presentation scanner reads a label held under it several times a second and
a batch upload may repeat itself; the counter must see one read. It must never drop a read of a *different*
code, and never keep state that grows without bound (entries older than the window are forgotten).
"""

from __future__ import annotations

from collections import OrderedDict


class DuplicateFilter:
    """Sliding window: a code is a duplicate while it keeps being seen less than `window` seconds apart.

    Sliding (measured from the last sighting, not the first) is deliberate: a label left under a presentation
    scanner for ten seconds is one read however long it stays. `window=0` turns the filter off.
    """

    def __init__(self, window: float) -> None:
        if window < 0:
            raise ValueError("duplicate window must not be negative")
        self.window = window
        self._seen: OrderedDict[str, float] = OrderedDict()
        self.dropped = 0

    def admit(self, code: str, now: float) -> bool:
        """True if `code` seen at monotonic time `now` is a new read; False for a duplicate (counted in
        `dropped`).
        """
        if self.window <= 0:
            return True
        self._expire(now)
        last = self._seen.pop(code, None)
        self._seen[code] = now
        if last is not None and now - last < self.window:
            self.dropped += 1
            return False
        return True

    def clear(self) -> None:
        self._seen.clear()

    def _expire(self, now: float) -> None:
        while self._seen:
            code, seen = next(iter(self._seen.items()))
            if now - seen < self.window:
                break
            del self._seen[code]
