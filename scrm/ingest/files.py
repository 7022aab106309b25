"""Reading mention files: CSV (delimiter sniffed), JSON array, NDJSON, each optionally gzipped.

Readers stream: memory stays bounded whatever the file size. Each yields
``(row_number, record)`` where ``record`` is a flat ``dict`` (nested JSON objects become
dotted keys such as ``user.screen_name``) or a :class:`RowError` for a row that could not
be read. Row numbers are the line number in the file for CSV (the header is line 1) and
NDJSON, and the 1-based element position for a JSON array.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scrm.exceptions import ImportFormatError

MAX_FIELD_CHARS = 100_000  # longer fields (e.g. a 5 MB cell) are rejected, row by row
MAX_JSON_ELEMENT_CHARS = 20_000_000
MAX_DECOMPRESSED_BYTES = 20 * 1024**3  # a gzip bomb stops here
_CHUNK = 1 << 20
_SAMPLE = 64 * 1024
FORMATS = ("csv", "json", "ndjson")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


@dataclass(frozen=True)
class RowError:
    """A row the reader could not turn into a record."""

    reason: str
    raw: str = ""


class HashingReader(io.RawIOBase):
    """A binary stream that hashes (sha256) and counts the bytes read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.bytes_read += n
        return n


class _BombGuard(io.RawIOBase):
    """Stops a decompressed stream that grows past ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFormatError(f"The gzip data is corrupt or truncated: {exc}") from None
        self._count += len(data)
        if self._count > self._limit:
            raise ImportFormatError(
                f"The file decompresses to more than {self._limit // 1024**3} GB: refusing it"
            )
        n = len(data)
        buffer[:n] = data
        return n


class MentionFile:
    """An opened mention file: its format, columns and a stream of records.

    Use as a context manager; ``records()`` may be iterated once.
    """

    def __init__(self, path: Path | str, *, fmt: str | None = None, display_name: str | None = None) -> None:
        self.path = Path(path)
        self.name = display_name or self.path.name
        if fmt is not None and fmt not in FORMATS:
            raise ImportFormatError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise ImportFormatError(f"Cannot open {self.name}: {exc.strerror}") from None
        self._hasher = HashingReader(self._file)
        head = self._file.read(2)
        self._file.seek(0)
        self.compressed = head == b"\x1f\x8b"
        lower = self.name.lower()
        if lower.endswith(".gz") and not self.compressed:
            self.close()
            raise ImportFormatError(f"{self.name} ends in .gz but is not gzip data")
        binary: IO[bytes] = io.BufferedReader(self._hasher, buffer_size=_CHUNK)
        if self.compressed:
            binary = io.BufferedReader(
                _BombGuard(gzip.GzipFile(fileobj=binary), MAX_DECOMPRESSED_BYTES), buffer_size=_CHUNK
            )
            lower = lower.removesuffix(".gz")
        self._binary = binary
        sample = self._peek(_SAMPLE)
        _check_text(sample, self.name)
        self.format = fmt or _guess_format(lower, sample)
        self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self.columns: list[str] = []
        self._records: Iterator[tuple[int, dict[str, Any] | RowError]]
        if self.format == "csv":
            self._records = self._csv_records(sample)
        elif self.format == "ndjson":
            self._records = self._ndjson_records()
        else:
            self._records = self._json_records()
        self._first = next(self._records, None)
        if self._first is None:
            if self.format == "csv" and self.columns:
                raise ImportFormatError(f"{self.name} has a header but no rows")
            raise ImportFormatError(f"{self.name} holds no records")
        if not self.columns and isinstance(self._first[1], dict):
            self.columns = list(self._first[1])

    def _peek(self, n: int) -> bytes:
        try:
            return self._binary.peek(n)[:n]  # type: ignore[attr-defined]
        except ImportFormatError:
            self.close()
            raise
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise ImportFormatError(f"{self.name}: cannot read the data ({exc})") from None

    def records(self) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        """Every record in file order, starting with the first."""
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        yield from self._records

    @property
    def sha256(self) -> str:
        """The hex sha256 of the bytes read so far (the whole file once records are read)."""
        return self._hasher.sha256.hexdigest()

    @property
    def bytes_read(self) -> int:
        """Bytes of the (possibly compressed) file read so far, for progress."""
        return self._hasher.bytes_read

    @property
    def size(self) -> int:
        """The size of the file on disk in bytes."""
        return self.path.stat().st_size

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> MentionFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- CSV --------------------------------------------------------------
    def _csv_records(self, sample: bytes) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        text_sample = sample.decode("utf-8-sig", errors="replace")
        dialect = _sniff_dialect(text_sample)
        csv.field_size_limit(MAX_DECOMPRESSED_BYTES)
        reader = csv.reader(self._text, dialect)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ImportFormatError(f"{self.name} is not valid CSV: {exc}") from None
        if not header or not any(h.strip() for h in header):
            raise ImportFormatError(f"{self.name} is empty or has no header row")
        self.columns = [h.strip() for h in header]
        dupes = {c for c in self.columns if c and self.columns.count(c) > 1}
        if dupes:
            raise ImportFormatError(f"{self.name} has duplicate column names: {', '.join(sorted(dupes))}")
        return self._csv_rows(reader)

    def _csv_rows(self, reader: Any) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        width = len(self.columns)
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, RowError(f"malformed CSV: {exc}")
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) > width:
                yield line, RowError(f"{len(row)} fields but the header has {width}", _raw_csv(row))
                continue
            yield line, dict(zip(self.columns, row, strict=False))

    # -- NDJSON -----------------------------------------------------------
    def _ndjson_records(self) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        for number, line in enumerate(self._text, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RowError(f"invalid JSON: {exc.msg} at column {exc.colno}", line[:2000])
                continue
            yield number, _as_record(value, line)

    # -- JSON array -------------------------------------------------------
    def _json_records(self) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        decoder = json.JSONDecoder()
        buf = ""
        pos = 0
        eof = False

        def fill() -> bool:
            nonlocal buf, pos, eof
            chunk = self._text.read(_CHUNK)
            if not chunk:
                eof = True
                return False
            buf = buf[pos:] + chunk
            pos = 0
            return True

        def skip_ws() -> None:
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    pos += 1
                if pos < len(buf) or eof or not fill():
                    return

        fill()
        skip_ws()
        if pos >= len(buf):
            raise ImportFormatError(f"{self.name} is empty")
        if buf[pos] == "{":
            yield from self._json_object_records(buf[pos:])
            return
        if buf[pos] != "[":
            raise ImportFormatError(f"{self.name} is not a JSON array (it starts with {buf[pos]!r})")
        pos += 1
        number = 0
        while True:
            skip_ws()
            if pos >= len(buf):
                yield number + 1, RowError("truncated JSON: the array is not closed")
                return
            if buf[pos] == "]":
                return
            if number and buf[pos] == ",":
                pos += 1
                skip_ws()
            number += 1
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError as exc:
                    if not eof and len(buf) - pos < MAX_JSON_ELEMENT_CHARS and fill():
                        continue
                    truncated = eof and "]" not in buf[pos:]  # the array is never closed
                    reason = "truncated JSON" if truncated else f"invalid JSON: {exc.msg}"
                    yield number, RowError(f"{reason}; reading stopped here", buf[pos : pos + 2000])
                    return
            raw = buf[pos:end] if end - pos <= 2000 else buf[pos : pos + 2000]
            pos = end
            yield number, _as_record(value, raw)

    def _json_object_records(self, head: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        """A single JSON object: either one record or a wrapper such as ``{"data": [...]}``."""
        rest = self._text.read(MAX_JSON_ELEMENT_CHARS)
        if self._text.read(1):
            raise ImportFormatError(
                f"{self.name}: a single JSON object this large is not supported; use NDJSON"
            )
        try:
            value = json.loads(head + rest)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"{self.name} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if isinstance(value, dict):
            lists = [v for k, v in value.items() if isinstance(v, list) and k != "includes"]
            if len(lists) == 1:
                for number, item in enumerate(lists[0], start=1):
                    yield number, _as_record(item, "")
                return
        yield 1, _as_record(value, "")


def _check_text(sample: bytes, name: str) -> None:
    if not sample.strip():
        raise ImportFormatError(f"{name} is empty")
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if control > max(8, len(sample) // 20):
        raise ImportFormatError(f"{name} is not a text file (it holds binary data)")
    decoded = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample)
    if decoded.count("\ufffd") > max(8, len(decoded) // 20):
        raise ImportFormatError(f"{name} is not UTF-8 text: save it as UTF-8 and import it again")


def _guess_format(lower_name: str, sample: bytes) -> str:
    if lower_name.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    stripped = sample.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"[":
        return "json"
    if stripped[:1] == b"{":
        lines = [line for line in stripped.split(b"\n") if line.strip()]
        try:
            json.loads(lines[0])
        except ValueError:
            return "json"  # one pretty-printed object
        return "ndjson" if len(lines) > 1 else "json"
    return "json" if lower_name.endswith(".json") else "csv"


def _sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        sample = "\n".join(lines[:-1])  # drop a line cut by the sample's end
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _raw_csv(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue()[:2000]


def _as_record(value: Any, raw: str) -> dict[str, Any] | RowError:
    if not isinstance(value, dict):
        return RowError(f"expected a JSON object, found {type(value).__name__}", raw[:2000])
    return flatten(value)


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects into dotted keys (``{"user": {"id": 1}}`` → ``user.id``)."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.update(flatten(item, name + "."))
        else:
            out[name] = item
    return out
