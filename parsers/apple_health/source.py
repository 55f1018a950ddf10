"""Opening an export: export.xml streamed out of the zip, with the guards hostile files need.

Nothing is extracted to disk and nothing is read whole. The stream handed to the XML parser has the
internal DTD removed: Apple's DTD declares no entity the document needs, iOS 16 (Export Version 12)
wrote it malformed so strict parsers stop near line 156, and a DTD is where entity expansion and
external entities live. With it gone, no entity can be expanded or fetched.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO


class ExportError(ValueError):
    """An export that cannot be imported; `code` names the kind, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[type[ExportError], tuple[str, str]]:
        # Raised in a parsing process, re-raised in the importer's: it must survive pickling.
        return (ExportError, (self.code, str(self)))


@dataclass(frozen=True, slots=True)
class Limits:
    """Refuse an archive whose export.xml expands past either bound (a zip bomb)."""

    max_ratio: float = 200.0  # real exports deflate about 10–30 times
    max_bytes: int = 32 * 1024**3
    max_prolog_bytes: int = 4 * 1024**2  # the DTD is ~10 kB; the root element must start before this


# Where the root element starts; "<!ELEMENT HealthData" inside the DTD does not match.
_ROOT = re.compile(rb"<HealthData[\s>/]")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_VERSION = re.compile(rb"HealthKit Export Version:\s*(\d+)")
_CHUNK = 1024 * 1024


class ExportStream(io.RawIOBase):
    """export.xml's bytes without the internal DTD, counting what was read and refusing a bomb."""

    def __init__(self, raw: IO[bytes], *, limit: int, limits: Limits) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self.bytes_read = 0
        self.dtd_removed = False
        self.export_version: str | None = None
        self._tail = b""
        self._pending = self._read_prolog(limits.max_prolog_bytes)

    def _take(self, n: int) -> bytes:
        try:
            data = self._raw.read(n)
        except (zipfile.BadZipFile, zlib.error) as error:
            raise ExportError("corrupt_zip", f"the zip archive is damaged ({error}); export it again") from None
        except EOFError as error:
            raise ExportError("truncated_zip", f"the zip archive ends early ({error}); upload it again") from None
        self.bytes_read += len(data)
        if self.bytes_read > self._limit:
            raise ExportError(
                "zip_bomb", f"export.xml expands past the allowed {self._limit:,} bytes; refused as a possible zip bomb"
            )
        if data:
            self._tail = (self._tail + data)[-64:]
        return data

    def _read_prolog(self, max_bytes: int) -> bytes:
        head = b""
        while True:
            data = self._take(_CHUNK)
            head += data
            root = _ROOT.search(head)
            if root:
                break
            if not data or len(head) > max_bytes:
                raise ExportError(
                    "not_health_export", "export.xml has no <HealthData> element: not an Apple Health export"
                )
        prolog, body = head[: root.start()], head[root.start() :]
        version = _VERSION.search(prolog)
        self.export_version = version.group(1).decode() if version else None
        doctype = _DOCTYPE.search(prolog)
        if doctype:
            self.dtd_removed = True
            # Its newlines stay, so line numbers in reports are export.xml's own.
            prolog = prolog[: doctype.start()] + b"\n" * prolog.count(b"\n", doctype.start())
        return prolog + body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._pending or self._take(len(buffer))
        self._pending = b""
        if len(data) > len(buffer):
            data, self._pending = data[: len(buffer)], data[len(buffer) :]
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        # lxml calls read(n); serve it without the copy readinto needs.
        if self._pending:
            data, self._pending = self._pending, b""
            if 0 <= size < len(data):
                data, self._pending = data[:size], data[size:]
            return data
        return self._take(_CHUNK if size is None or size < 0 else size)

    def peek(self, size: int) -> bytes:
        """Up to `size` of the next bytes, left to be read."""
        while len(self._pending) < size:
            data = self._take(size - len(self._pending))
            if not data:
                break
            self._pending += data
        return self._pending[:size]

    def ended_cleanly(self) -> bool:
        """Whether the document's last bytes close the root element (an export cut short does not)."""
        return self._tail.rstrip().endswith(b"</HealthData>")


def _find_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    # The top folder's name is localised; export_cda.xml is the clinical file, not this one.
    candidates = [i for i in archive.infolist() if i.filename.rsplit("/", 1)[-1] == "export.xml" and not i.is_dir()]
    if not candidates:
        names = ", ".join(i.filename for i in archive.infolist()[:5]) or "nothing"
        raise ExportError(
            "no_export_xml", f"the zip holds no export.xml (it holds {names}): not an Apple Health export"
        )
    return min(candidates, key=lambda i: i.filename.count("/"))


@contextmanager
def open_export(source: str | Path | BinaryIO, limits: Limits | None = None) -> Iterator[tuple[ExportStream, int]]:
    """Yield (stream, expected size in bytes) for an export.zip, or a bare export.xml, at `source`."""
    limits = limits or Limits()
    file = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115 (closed below)
    try:
        magic = file.read(4)
        file.seek(0)
        if magic.startswith(b"PK"):
            with _open_zip(file, limits) as opened:
                yield opened
        elif magic.lstrip().startswith(b"<"):
            size = file.seek(0, io.SEEK_END)
            file.seek(0)
            yield ExportStream(file, limit=limits.max_bytes, limits=limits), size
        else:
            raise ExportError(
                "not_health_export", "the file is neither a zip archive nor XML: not an Apple Health export"
            )
    finally:
        if isinstance(source, str | Path):
            file.close()


@contextmanager
def _open_zip(file: BinaryIO, limits: Limits) -> Iterator[tuple[ExportStream, int]]:
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        raise ExportError(
            "truncated_zip", "the zip archive is incomplete or damaged (no central directory); upload it again"
        ) from None
    with archive:
        member = _find_member(archive)
        compressed = max(member.compress_size, 1)
        if member.file_size > limits.max_bytes or member.file_size / compressed > limits.max_ratio:
            raise ExportError(
                "zip_bomb",
                f"export.xml would expand {member.file_size / compressed:,.0f}-fold to {member.file_size:,} bytes, "
                f"past the allowed {limits.max_ratio:g}-fold or {limits.max_bytes:,} bytes; "
                "refused as a possible zip bomb",
            )
        # The header's sizes can lie: the stream enforces the same bounds on what really comes out.
        limit = int(min(limits.max_bytes, compressed * limits.max_ratio))
        try:
            raw = archive.open(member)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
            raise ExportError("corrupt_zip", f"export.xml cannot be read from the zip ({error})") from None
        with raw:
            yield ExportStream(raw, limit=limit, limits=limits), member.file_size
