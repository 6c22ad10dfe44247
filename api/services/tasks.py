"""Stopping the service's background asyncio tasks."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel ``tasks`` (``None`` entries are skipped) and wait until each has ended; a task's cancellation is
    expected and swallowed, any other error it ends with is raised."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError):
            await task
