"""Reading export.xml on several cores.

The main process decompresses the zip member and cuts the document into chunks of whole top-level
elements: Apple writes one per line, indented by one space, and their children by more, so a cut
before "\\n <Record", "\\n <Workout"… never splits an element. Each chunk, wrapped in the root element's
own start tag, is copied into a shared-memory slot (a pipe would copy it three times and cost the main
process as much CPU as decompressing does) and parsed in a worker process by the same code as the
sequential pass; its compact results are merged in file order. A document laid out otherwise (no
such boundary within `MAX_CHUNK_FACTOR` chunks) is refused with a clear error; the sequential pass reads any layout.

Worker processes are spawned, never forked: the importer's process holds database connections.
By default (`default_workers`) an export of `PARALLEL_FROM_BYTES` or more laid out as Apple writes it
is read on two processes wherever they may be started: not inside a daemonic process such as a Celery
prefork worker, whose pool already spreads imports over the cores.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.shared_memory import SharedMemory
from typing import TYPE_CHECKING, Any

from parsers.apple_health.source import ExportError

if TYPE_CHECKING:
    from parsers.apple_health.reader import AppleHealthExport, Item, Lookups

_BOUNDARY = re.compile(rb"\n <(?:Record|Workout|Correlation|ActivitySummary|ClinicalRecord|Audiogram)[\s/>]")
_ROOT = re.compile(rb"<HealthData[^>]*>")
_END = re.compile(rb"</HealthData>\s*$")
_CLOSE = b"</HealthData>"
MAX_CHUNK_FACTOR = 8
# Below this, starting processes costs more than it saves (an export of a few months).
PARALLEL_FROM_BYTES = 32 * 1024 * 1024


def default_workers(stream: Any, size: int) -> int:
    """Parsing processes for an export of `size` bytes of export.xml when the caller named none."""
    if size < PARALLEL_FROM_BYTES or multiprocessing.current_process().daemon:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores < 2:
        return 1
    # Only a document cut into lines of whole elements can be chunked; any other is read sequentially.
    return 2 if _BOUNDARY.search(stream.peek(1024 * 1024)) else 1


def read_in_parallel(
    export: AppleHealthExport, stream: Any, size: int, workers: int, chunk_bytes: int
) -> Iterator[Item]:
    context = multiprocessing.get_context("spawn")
    priority = sorted(export._priority, key=export._priority.__getitem__)
    pending: deque[Future[Any]] = deque()
    # A chunk's slot is written again only once its chunk has been parsed: at most `ahead` + 1 are in
    # flight (see below), so one more slot than that is never one still being read.
    ahead = 2 * workers
    slots: list[SharedMemory | None] = [None] * (ahead + 2)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # Start the processes now: they start up while the catalog and the units are resolved here,
            # once, and handed to them with every chunk.
            for _ in range(workers):
                pool.submit(_started)
            lookups = export.lookups()
            for number, (root, buffer, cut, first_line) in enumerate(_chunks(stream, chunk_bytes)):
                length = len(root) + cut + len(_CLOSE)
                index = number % len(slots)
                slot = slots[index]
                if slot is None or slot.size < length:
                    if slot is not None:
                        _free(slot)
                    slot = slots[index] = SharedMemory(create=True, size=max(length, 2 * chunk_bytes))
                with memoryview(buffer) as view:
                    slot.buf[: len(root)] = root
                    slot.buf[len(root) : len(root) + cut] = view[:cut]
                slot.buf[length - len(_CLOSE) : length] = _CLOSE
                pending.append(pool.submit(parse_chunk, slot.name, length, first_line, priority, lookups))
                # A bounded queue keeps memory flat: reading waits for parsing. Two chunks ahead per
                # worker, so that one waiting for the oldest chunk's results still has the next queued.
                while len(pending) > ahead:
                    yield from _absorb(export, pending.popleft().result(), stream, size)
            while pending:
                yield from _absorb(export, pending.popleft().result(), stream, size)
    finally:
        for slot in slots:
            if slot is not None:
                _free(slot)


def _free(slot: SharedMemory) -> None:
    slot.close()
    slot.unlink()


def _started() -> None:
    """Nothing: submitted once per process so that the pool starts them all at once."""


def _chunks(stream: Any, chunk_bytes: int) -> Iterator[tuple[bytes, bytearray, int, int]]:
    """(root start tag, buffer, n, line number in export.xml of the chunk's first byte).

    The chunk of whole elements is the buffer's first n bytes, valid until the next chunk is asked for.
    """
    buffer = bytearray()
    root = None
    while root is None:
        data = stream.read(chunk_bytes)
        buffer += data
        root = _ROOT.search(buffer)
        if root is None and not data:
            raise ExportError("not_health_export", "export.xml has no <HealthData> element: not an Apple Health export")
    tag = bytes(buffer[root.start() : root.end()])
    line = 1 + buffer.count(b"\n", 0, root.end())
    del buffer[: root.end()]
    while True:
        data = stream.read(chunk_bytes)
        buffer += data
        if not data:
            end = _END.search(buffer)
            yield tag, buffer, end.start() if end else len(buffer), line
            return
        if len(buffer) < chunk_bytes:
            continue
        cut = _last_boundary(buffer, max(0, len(buffer) - chunk_bytes // 4)) or _last_boundary(buffer, 0)
        if not cut:
            if len(buffer) > MAX_CHUNK_FACTOR * chunk_bytes:
                raise ExportError(
                    "unexpected_layout",
                    "export.xml is not laid out one element a line as Apple writes it; "
                    "import it without parallel reading",
                )
            continue
        yield tag, buffer, cut, line
        line += buffer.count(b"\n", 0, cut)
        del buffer[:cut]


def _last_boundary(buffer: bytearray, start: int) -> int:
    """Offset of the last top-level element's start at or after `start`; 0 if there is none."""
    end = len(buffer)
    while (at := buffer.rfind(b"\n <", start, end)) >= 0:
        if _BOUNDARY.match(buffer, at):
            return at
        end = at  # "\n <" cannot overlap itself, so no candidate is skipped
    return 0


_attached: dict[str, SharedMemory] = {}


def parse_chunk(
    slot: str, length: int, first_line: int, priority: list[str], lookups: Lookups | None = None
) -> tuple[Any, list[Item]]:
    """In a worker: read one chunk (the first `length` bytes of shared-memory `slot`, a document of its own)
    with the sequential code; return its items and what it accumulated."""
    from parsers.apple_health.reader import AppleHealthExport

    memory = _attached.get(slot)
    if memory is None:
        # Slots are few and reused, so each is mapped once per process; the importer unlinks them.
        memory = _attached[slot] = SharedMemory(slot)
    document = bytes(memory.buf[:length])
    export = AppleHealthExport(io.BytesIO(), source_priority=priority, lookups=lookups)
    export._line_offset = first_line - 1
    items = list(export._elements(io.BytesIO(document)))
    state = (
        export.report,
        export._source_list,
        export._cumulative,
        export._discrete,
        export._sleep,
        export._summaries,
        export._last_problem_line,
    )
    return state, items


def _absorb(export: AppleHealthExport, result: tuple[Any, list[Item]], stream: Any, size: int) -> Iterator[Item]:
    (report, sources, cumulative, discrete, sleep, summaries, last_problem_line), items = result
    mapping = [export._register(key) for key in sources]
    export.report.merge(report)
    export._cumulative.merge(cumulative, mapping)
    export._discrete.merge(discrete)
    export._sleep.merge(sleep, mapping)
    export._summaries.update(summaries)
    export._last_problem_line = last_problem_line or export._last_problem_line
    # As often as the sequential pass reports (every `progress_every` records), not once per chunk.
    if export.report.records >= export._progress_due:
        export._progress_due = (export.report.records // export._progress_every + 1) * export._progress_every
        export._report_progress(export.report.records, stream, size, every=True)
    yield from items
