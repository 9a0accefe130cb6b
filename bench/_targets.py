"""The targets a benchmark checks, remembered so its exit status says whether all were met: `make bench` runs every
benchmark and fails at the end naming those that missed one, so a miss shows in CI's status, not only in its log."""

from __future__ import annotations

_missed: list[str] = []


def check(what: str, met: bool) -> str:
    """Record one target; returns the word to print beside it."""
    if not met:
        _missed.append(what)
    return "met" if met else "NOT met"


def status() -> int:
    """The process exit status: 1 (naming the misses) when some target was missed."""
    if _missed:
        print(f"target missed: {', '.join(_missed)}")
    return 1 if _missed else 0
