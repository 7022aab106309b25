"""What the Data and Sentiment quality pages show: file previews, import history, brand
overviews, live query counts, rejected rows and evaluation tables.

Plain functions over the database and files (no Streamlit), so the pages stay thin and
every number they show is checked by a unit test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scrm.evaluation import EvalReport
from scrm.exceptions import ImportFormatError, QuerySyntaxError
from scrm.export import neutralise
from scrm.ingest.files import MentionFile, RowError
from scrm.ingest.mapping import FIELDS, RowMapper, detect_mapping, guess_platform
from scrm.models import LABELS, ActivityHourly, Author, Brand, ImportBatch, ImportRejection, Mention
from scrm.query import parse_query, prepare
from scrm.timeutil import get_zone

PREVIEW_ROWS = 20
HISTORY_LIMIT = 200
QUERY_SAMPLE = 20_000
REQUIRED_FIELDS = ("text", "created_at")
HISTORY_COLUMNS = (
    "id",
    "started_at",
    "finished_at",
    "source",
    "file_name",
    "status",
    "read",
    "stored",
    "updated",
    "duplicates",
    "rejected",
    "error",
)
REJECTION_COLUMNS = ("row", "reason", "raw")
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")
_CELL_CHARS = 500
_EXTENSIONS = re.compile(r"(\.[A-Za-z0-9]{1,8}){1,2}$")


# -- file preview ----------------------------------------------------------------------


@dataclass
class FilePreview:
    """The head of a mention file as the importer reads it.

    ``rows`` has the file's columns (values as text, cut to 500 characters) indexed by row
    number (the line number for CSV and NDJSON, the element number for a JSON array);
    ``row_errors`` lists the rows among them that could not be read; ``mapping`` is the
    detected field → column mapping; ``platform`` a platform guessed from the columns.
    """

    name: str
    format: str
    compressed: bool
    columns: list[str]
    rows: pd.DataFrame
    row_errors: list[tuple[int, str]] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    platform: str | None = None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"


def preview_file(
    path: Path | str, *, display_name: str | None = None, fmt: str | None = None, rows: int = PREVIEW_ROWS
) -> FilePreview:
    """The first ``rows`` records of a mention file, its columns and the detected mapping.

    Raises :class:`ImportFormatError` when the file cannot be read at all (the same check
    the import makes), with a message that says what is wrong.
    """
    with MentionFile(path, fmt=fmt, display_name=display_name) as source:
        records: list[dict[str, str]] = []
        numbers: list[int] = []
        errors: list[tuple[int, str]] = []
        for number, record in islice(source.records(), rows):
            if isinstance(record, RowError):
                errors.append((number, record.reason))
                continue
            numbers.append(number)
            records.append({c: _cell(record.get(c)) for c in source.columns})
        columns = list(source.columns)
        frame = pd.DataFrame(records, columns=columns, index=pd.Index(numbers, name="row"), dtype=object)
        return FilePreview(
            name=source.name,
            format=source.format,
            compressed=source.compressed,
            columns=columns,
            rows=frame,
            row_errors=errors,
            mapping=detect_mapping(columns),
            platform=guess_platform(columns),
        )


def resolve_mapping(columns: Sequence[str], chosen: Mapping[str, str | None]) -> dict[str, str]:
    """The mapping an import will use when the user picks ``chosen`` (field → column or None).

    Columns picked explicitly win; fields left to ``None`` keep what the importer detects
    from the remaining column names. Raises :class:`ImportFormatError` when a picked column
    is not in the file, a column is picked for two fields, or no column holds the text or
    the date.
    """
    unknown = [f for f in chosen if f not in FIELDS]
    if unknown:
        raise ImportFormatError(f"Unknown field {unknown[0]!r}: fields are {', '.join(FIELDS)}")
    picked = {f: c for f, c in chosen.items() if c}
    seen: dict[str, str] = {}
    for fld, col in picked.items():
        if col in seen:
            raise ImportFormatError(f"Column {col!r} is chosen for both {seen[col]} and {fld}: pick one")
        seen[col] = fld
    for fld in REQUIRED_FIELDS:
        if fld not in picked and fld not in detect_mapping([c for c in columns if c not in seen]):
            what = "the post text" if fld == "text" else "the post date and time"
            raise ImportFormatError(f"Choose the column that holds {what} (field {fld!r})")
    mapper = RowMapper.build(list(columns), overrides=picked, timezone=get_zone("UTC"))
    return {f: mapper.mapping[f] for f in FIELDS if f in mapper.mapping}


def safe_file_name(name: str, default: str = "upload.csv") -> str:
    """A file name safe to create in a temp folder, keeping its extensions (format sniffing)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if len(base) > 150:
        ext = _EXTENSIONS.search(base)
        suffix = ext.group(0) if ext else ""
        base = base[: 150 - len(suffix)] + suffix
    return base or default


def save_upload(data: IO[bytes], name: str, directory: Path | str) -> Path:
    """Copy an uploaded stream into ``directory`` under a safe version of its name."""
    path = Path(directory) / safe_file_name(name)
    if hasattr(data, "seek"):
        data.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(data, out, 1 << 20)
    return path


# -- import history and rejected rows -------------------------------------------------


def import_history(*, engine: Engine, limit: int = HISTORY_LIMIT) -> pd.DataFrame:
    """The latest ``limit`` import batches, newest first.

    Columns: :data:`HISTORY_COLUMNS` (times are timezone-aware UTC; counts are integers).
    """
    t = ImportBatch.__table__
    stmt = sa.select(*(t.c[c] for c in HISTORY_COLUMNS)).order_by(t.c.id.desc()).limit(max(1, limit))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(HISTORY_COLUMNS))
    for col in ("started_at", "finished_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("id", "read", "stored", "updated", "duplicates", "rejected"):
        frame[col] = frame[col].astype("int64")
    return frame


def batch_rejections(*, engine: Engine, batch_id: int, limit: int | None = None) -> pd.DataFrame:
    """The rows of an import that were not stored, in row order.

    Columns: ``row``, ``reason``, ``raw``. Rows rejected for a bad value and rows that
    repeat an earlier row of the same file (reason "duplicate of ...") are both listed.
    """
    t = ImportRejection.__table__
    stmt = (
        sa.select(t.c.row_number, t.c.reason, t.c.raw)
        .where(t.c.batch_id == batch_id)
        .order_by(t.c.row_number, t.c.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(REJECTION_COLUMNS))
    frame["row"] = frame["row"].astype("int64")
    return frame


def rejections_csv(*, engine: Engine, batch_id: int) -> bytes:
    """Every rejected row of an import as CSV (UTF-8 with BOM), formula-safe.

    Columns: ``row``, ``reason``, ``raw``; text cells a spreadsheet would run as a formula
    are prefixed with an apostrophe (:func:`scrm.export.neutralise`).
    """
    t = ImportRejection.__table__
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REJECTION_COLUMNS)
    stmt = (
        sa.select(t.c.row_number, t.c.reason, t.c.raw)
        .where(t.c.batch_id == batch_id)
        .order_by(t.c.row_number, t.c.id)
    )
    with engine.connect() as conn:
        for number, reason, raw in conn.execute(stmt):
            writer.writerow([number, neutralise(reason or ""), neutralise(raw or "")])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- brands and their queries -----------------------------------------------------------


def brand_table(*, engine: Engine) -> pd.DataFrame:
    """Every brand with its query and how many mentions are linked to it.

    Columns: ``id``, ``name``, ``is_own``, ``query``, ``colour``, ``mentions``; own brands
    first, then by name. Counts come from the hourly roll-up (exact, kept by triggers).
    """
    b, a = Brand.__table__, ActivityHourly.__table__
    counts = (
        sa.select(a.c.brand_id, sa.func.sum(a.c.mentions).label("mentions")).group_by(a.c.brand_id).subquery()
    )
    stmt = (
        sa.select(b.c.id, b.c.name, b.c.is_own, b.c.query, b.c.colour, sa.func.coalesce(counts.c.mentions, 0))
        .select_from(b.outerjoin(counts, counts.c.brand_id == b.c.id))
        .order_by(b.c.is_own.desc(), sa.func.lower(b.c.name))
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows], columns=["id", "name", "is_own", "query", "colour", "mentions"]
    )
    frame["is_own"] = frame["is_own"].astype(bool)
    frame["mentions"] = frame["mentions"].astype("int64")
    return frame


def query_error(query: str) -> tuple[str, str] | None:
    """None for a valid query, else its error message and the query's line with a caret.

    The second part is two lines of plain text (the line of the query holding the error,
    then ``^`` under the error's position), meant for a code block.
    """
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        position = min(max(exc.position, 0), len(query))
        start = query.rfind("\n", 0, position) + 1
        end = query.find("\n", position)
        line = query[start : end if end >= 0 else len(query)]
        return str(exc), line + "\n" + " " * (position - start) + "^"
    return None


def mention_count(*, engine: Engine) -> int:
    """How many mentions are stored."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Mention.__table__)).scalar_one()


def count_query_matches(*, engine: Engine, query: str, sample: int = QUERY_SAMPLE) -> tuple[int, int]:
    """How many of the latest ``sample`` mentions ``query`` matches: ``(matches, sampled)``.

    Matching a query runs in Python, so a live count while editing samples the newest
    mentions instead of reading a million rows. Raises :class:`QuerySyntaxError` for a
    bad query; an empty query matches nothing.
    """
    parsed = parse_query(query)
    m, au = Mention.__table__, Author.__table__
    latest = (
        sa.select(m.c.text, m.c.author_id)
        .order_by(m.c.created_at.desc(), m.c.id.desc())
        .limit(max(0, sample))
    ).subquery()
    stmt = sa.select(latest.c.text, sa.func.coalesce(au.c.handle, "")).select_from(
        latest.outerjoin(au, au.c.id == latest.c.author_id)
    )
    matches = sampled = 0
    with engine.connect() as conn:
        for text, handle in conn.execute(stmt):
            sampled += 1
            if parsed.matches(prepare(text or "", handle)):
                matches += 1
    return matches, sampled


# -- sentiment quality ------------------------------------------------------------------


def evaluation_table(reports: Sequence[EvalReport]) -> pd.DataFrame:
    """One row per evaluated set.

    Columns: ``set``, ``n``, ``pearson_r`` (None when it cannot be computed), ``accuracy``,
    ``macro_f1``, then ``precision_<label>`` and ``recall_<label>`` for each of
    positive, neutral, negative, and ``skipped``.
    """
    rows = []
    for r in reports:
        row: dict[str, Any] = {
            "set": r.name,
            "n": r.n,
            "pearson_r": r.pearson_r,
            "accuracy": r.accuracy,
            "macro_f1": r.macro_f1,
        }
        for label in LABELS:
            row[f"precision_{label}"] = r.per_class[label]["precision"]
            row[f"recall_{label}"] = r.per_class[label]["recall"]
        row["skipped"] = r.skipped
        rows.append(row)
    columns = [
        "set",
        "n",
        "pearson_r",
        "accuracy",
        "macro_f1",
        *(f"{k}_{label}" for label in LABELS for k in ("precision", "recall")),
        "skipped",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["pearson_r"] = frame["pearson_r"].astype("float64")
    return frame


def csv_header(path: Path | str) -> list[str]:
    """The column names of a CSV file's header row (for choosing text and label columns).

    Raises :class:`ImportFormatError` when the file is not readable UTF-8 CSV or has no header.
    """
    p = Path(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFormatError(f"Cannot read {p.name} as UTF-8 CSV: {exc}") from None
    columns = [h for h in (header or []) if h.strip()]
    if not columns:
        raise ImportFormatError(f"{p.name} has no header row: the first line must name the columns")
    return columns


def guess_columns(columns: Sequence[str]) -> tuple[str | None, str | None]:
    """The likely text and label columns of a labelled CSV (None when no name fits)."""
    folded = {c.strip().lower(): c for c in columns}
    text = next(
        (
            folded[n]
            for n in ("text", "tweet", "full_text", "content", "body", "review", "sentence")
            if n in folded
        ),
        None,
    )
    label = next(
        (
            folded[n]
            for n in ("label", "sentiment", "airline_sentiment", "polarity", "rating", "score", "class")
            if n in folded and folded[n] != text
        ),
        None,
    )
    return text, label
