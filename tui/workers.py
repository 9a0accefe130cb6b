"""Running register calls off the UI thread, with database failures turned into messages the operator can read.

Every screen awaits `off_ui(executor, fn, *args)` instead of calling the register directly: the call runs on one of
the app's register threads, and a database failure (locked too long, connection lost) comes back as a `DomainError`
in both languages, which the screens already show as a red card — never as a traceback that ends the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from tracker.domain import DomainError

T = TypeVar("T")


async def off_ui(executor: Executor, fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
    except SQLAlchemyError as e:
        raise DomainError(f"The register database did not answer ({type(e).__name__}); try again, and call the "
                          "administrator if it persists.",
                          f"登记库无响应（{type(e).__name__}）；请重试，如持续出现请联系管理员。") from e
