"""Micro-batching: concurrent classify requests share one ``pipeline.analyze`` call (one encoder batch).

Requests go into an asyncio priority queue. One worker takes the first waiting request, then everything
already queued, then waits up to ``wait_ms`` for more, until a batch is full (``max_size`` answers, shared
out over the workers); it runs ONE
``analyze`` call in a worker thread and hands each request its slice of the results. While a batch
runs, new requests queue up and form the next batch, so under load batches fill up by themselves.

With ``workers`` > 1 that many batches run at once, each in its own thread: on a small CPU one encoder run of
a few answers cannot keep every core busy, and the next batch does not wait for the whole previous one.

Two lanes: real-time requests (classify, single ingest) go before bulk work (bulk ingest, split into chunks
of a batch), first come first served within a lane. A backfill of thousands of answers therefore delays
a live answer by at most the one bulk chunk that is running, not by the whole backfill.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.services.models import LoadedModel
from api.services.tasks import cancel_and_wait

log = logging.getLogger("nps_nlp.api.batcher")


@dataclass
class Item:
    """One answer to analyze."""

    text: str
    score: float | None = None
    lang: str | None = None


_seq = itertools.count()


@dataclass(order=True)
class _Request:
    lane: int  # 0 real-time, 1 bulk: lower goes first
    items: list[Item] = field(compare=False)
    future: asyncio.Future[tuple[list[Any], str]] = field(compare=False)
    seq: int = field(default_factory=lambda: next(_seq))  # first come first served within a lane
    enqueued: float = field(default_factory=time.perf_counter, compare=False)


class MicroBatcher:
    """Collects concurrent requests into encoder batches.

    Args:
        model: returns the model to use for the next batch (read once per batch, so a reload swaps
            models between batches without dropping requests).
        max_size: most answers in the batches that run at once: each of the ``workers`` batches holds at most
            ``max_size / workers`` (64 answers, 2 workers: two batches of 32 side by side).
        wait_ms: how long to wait for more requests once one arrived.
        on_batch: called with (number of answers, seconds) after each batch (metrics).
        workers: how many batches run at once (the pipeline must be thread-safe: ``FeedbackPipeline`` is).
    """

    def __init__(self, model: Callable[[], LoadedModel], max_size: int = 64, wait_ms: float = 2.0,
                 on_batch: Callable[[int, float], None] | None = None, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.model = model
        self.wait_s = wait_ms / 1000
        self.on_batch = on_batch
        self.workers = workers
        self.batch_size = -(-max_size // workers)  # answers per batch
        self._queue: asyncio.PriorityQueue[_Request] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.batches = 0

    def start(self) -> None:
        self._queue = asyncio.PriorityQueue()
        self._tasks = [asyncio.create_task(self._run(), name=f"nps-microbatcher-{i}") for i in range(self.workers)]

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks = []

    async def analyze(self, items: Sequence[Item], *, bulk: bool = False) -> tuple[list[Any], str]:
        """Analyze ``items`` (in order) and return ``(AnalyzedAnswer list, model id)``.

        Requests larger than a batch are split into several queued chunks (so with several workers a request of
        many answers runs on all of them). ``bulk`` puts them in the bulk lane, behind every real-time request.
        """
        if self._queue is None:
            raise RuntimeError("the micro-batcher is not running")
        if not items:
            return [], self.model().model_id
        loop = asyncio.get_running_loop()
        chunks = [list(items[i:i + self.batch_size]) for i in range(0, len(items), self.batch_size)]
        futures = []
        for chunk in chunks:
            future: asyncio.Future[tuple[list[Any], str]] = loop.create_future()
            self._queue.put_nowait(_Request(int(bulk), chunk, future))
            futures.append(future)
        results: list[Any] = []
        model_id = ""
        for future in futures:
            part, model_id = await future
            results.extend(part)
        return results, model_id

    async def _collect(self) -> list[_Request]:
        assert self._queue is not None
        batch = [await self._queue.get()]
        size = len(batch[0].items)
        deadline = time.perf_counter() + self.wait_s
        while size < self.batch_size:
            if self._queue.empty():
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    request = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                request = self._queue.get_nowait()
            if size + len(request.items) > self.batch_size:
                self._queue.put_nowait(request)  # does not fit: back in its place in line for the next batch
                break
            batch.append(request)
            size += len(request.items)
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            batch = [r for r in batch if not r.future.done()]  # the client went away
            if not batch:
                continue
            loaded = self.model()
            items = [item for r in batch for item in r.items]
            started = time.perf_counter()
            try:
                results = await asyncio.to_thread(loaded.pipeline.analyze, [i.text for i in items],
                                                  [i.score for i in items], [i.lang for i in items])
            except Exception as exc:
                if len(batch) == 1:
                    self._fail(batch[0], exc)
                    continue
                # one bad request must not fail its neighbours: run them one by one
                for request in batch:
                    try:
                        part = await asyncio.to_thread(loaded.pipeline.analyze, [i.text for i in request.items],
                                                       [i.score for i in request.items], [i.lang for i in request.items])
                    except Exception as one_exc:
                        self._fail(request, one_exc)
                    else:
                        if not request.future.done():
                            request.future.set_result((part, loaded.model_id))
                continue
            self.batches += 1
            if self.on_batch is not None:
                self.on_batch(len(items), time.perf_counter() - started)
            offset = 0
            for request in batch:
                part = results[offset:offset + len(request.items)]
                offset += len(request.items)
                if not request.future.done():
                    request.future.set_result((part, loaded.model_id))

    @staticmethod
    def _fail(request: _Request, exc: Exception) -> None:
        if not request.future.done():
            request.future.set_exception(exc)
