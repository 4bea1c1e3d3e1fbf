import asyncio
import os
import sys

import pytest


@pytest.fixture(autouse=True)
async def _dump_tasks_when_stuck():
    """Debug aid: if a fault test hangs, print every task's stack (ONESTOP_DEBUG_HANG=seconds)."""
    seconds = float(os.environ.get("ONESTOP_DEBUG_HANG", "0"))
    if not seconds:
        yield
        return

    async def watchdog() -> None:
        await asyncio.sleep(seconds)
        for task in asyncio.all_tasks():
            print("TASK", task.get_name(), file=sys.stderr)
            task.print_stack(file=sys.stderr)

    w = asyncio.create_task(watchdog())
    yield
    w.cancel()
