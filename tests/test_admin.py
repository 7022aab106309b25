"""scrm.admin: file previews, import history, rejected rows, brand table, live query counts,
evaluation tables (what the Data and Sentiment quality pages show)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from scrm import admin
from scrm.brands import add_brand, suggest_colour
from scrm.evaluation import evaluate_ground_truth, evaluate_labelled_csv, report
from scrm.exceptions import ImportFormatError, QuerySyntaxError
from scrm.ingest.pipeline import import_file, ingest_mentions
from scrm.models import ImportBatch, MentionBrand
from scrm.query import parse_query, prepare
from tests.factories import GOOD_ROWS, T0, big_csv, csv_bytes, mention, ndjson_bytes, write

# -- preview ----------------------------------------------------------------------------


def test_preview_csv_columns_rows_and_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "tweets.csv", csv_bytes(GOOD_ROWS))
    p = admin.preview_file(path)
    assert p.name == "tweets.csv"
    assert p.format == "csv" and not p.compressed
    assert p.columns == ["id", "text", "created_at", "author", "likes"]
    assert list(p.rows.index) == [2, 3, 4]  # CSV line numbers, the header is line 1
    assert p.rows.index.name == "row"
    assert p.rows.loc[3, "text"] == GOOD_ROWS[1]["text"]
    assert p.rows.loc[4, "likes"] == ""
    assert p.mapping == {
        "external_id": "id",
        "text": "text",
        "created_at": "created_at",
        "author": "author",
        "likes": "likes",
    }
    assert p.row_errors == []


def test_preview_stops_after_the_first_rows(tmp_path: Path) -> None:
    path = big_csv(tmp_path / "big.csv", 500)
    p = admin.preview_file(path, rows=20)
    assert len(p.rows) == 20
    assert list(p.rows.index) == list(range(2, 22))


def test_preview_gzipped_ndjson_with_nested_objects(tmp_path: Path) -> None:
    rows = [
        {
            "id_str": "9",
            "full_text": "hello @northwind",
            "created_at": "2026-11-01T10:00:00Z",
            "user": {"screen_name": "zed", "followers_count": 12},
            "entities": {"tags": ["a", "b"]},
        },
        {
            "id_str": "10",
            "full_text": "again",
            "created_at": "2026-11-01T11:00:00Z",
            "user": {"screen_name": "amy", "followers_count": 3},
            "entities": {"tags": []},
        },
    ]
    path = write(tmp_path / "export.jsonl.gz", ndjson_bytes(rows), gz=True)
    p = admin.preview_file(path, display_name="export.jsonl.gz")
    assert p.format == "ndjson" and p.compressed
    assert "user.screen_name" in p.columns
    assert p.mapping["author"] == "user.screen_name"
    assert p.mapping["followers"] == "user.followers_count"
    assert p.rows.loc[1, "entities.tags"] == '["a", "b"]'  # non-text values shown as JSON
    assert p.rows.loc[1, "user.followers_count"] == "12"
    assert p.platform == "twitter"


def test_preview_json_array_numbers_elements_and_lists_unreadable_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "posts.json", json.dumps([{"text": "a", "date": "2026-11-01"}, 5, {"text": "b"}]))
    p = admin.preview_file(path)
    assert p.format == "json"
    assert list(p.rows.index) == [1, 3]
    assert p.rows.loc[3, "date"] == ""  # a missing key is an empty cell
    assert p.row_errors == [(2, "expected a JSON object, found int")]


def test_preview_cuts_long_cells(tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", csv_bytes([{"text": "x" * 5000, "date": "2026-11-01"}]))
    cell = admin.preview_file(path).rows.iloc[0]["text"]
    assert len(cell) == 500 and cell.endswith("…")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"   \n\n", "is empty"),
        ("binary.csv", bytes(range(256)) * 20, "not a text file"),
        ("header.csv", b"id,text\n", "has a header but no rows"),
        ("dupes.csv", b"text,text\n1,2\n", "duplicate column names"),
        ("fake.csv.gz", b"id,text\n1,2\n", "is not gzip data"),
        ("latin.csv", b"text,date\n" + "é".encode("latin-1") * 200 + b",x\n", "not UTF-8"),
        ("array.json", b"[1, 2", "expected a JSON object"),
    ],
)
def test_preview_of_an_unreadable_file_raises_the_import_error(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        p = admin.preview_file(path)
    except ImportFormatError as exc:
        assert message in str(exc)
    else:  # a readable file whose rows are all bad: every row is listed as an error
        assert p.rows.empty and p.row_errors and message in p.row_errors[0][1]


# -- mapping ----------------------------------------------------------------------------


COLUMNS = ["Message", "Posted At", "From", "Hearts", "id"]


def test_resolve_mapping_applies_choices_and_keeps_detected_fields() -> None:
    mapping = admin.resolve_mapping(COLUMNS, {"text": "Message", "created_at": "Posted At", "author": "From"})
    assert mapping == {"external_id": "id", "text": "Message", "created_at": "Posted At", "author": "From"}
    chosen = {"text": "Message", "created_at": "Posted At", "likes": "Hearts", "external_id": None}
    assert admin.resolve_mapping(COLUMNS, chosen) == {**mapping, "likes": "Hearts"}
    assert admin.resolve_mapping(["id", "text", "date"], {}) == {
        "external_id": "id",
        "text": "text",
        "created_at": "date",
    }


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ({"created_at": "When"}, "post text"),
        ({"text": "Words", "created_at": None}, "date and time"),
        ({"text": "Words", "created_at": "Words"}, "chosen for both"),
        ({"text": "Words", "created_at": "When", "likes": "Nope"}, "not in the file"),
        ({"txt": "Words"}, "Unknown field"),
    ],
)
def test_resolve_mapping_refuses_unusable_choices(chosen: dict, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        admin.resolve_mapping(["Words", "When", "From", "id"], chosen)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tweets.csv", "tweets.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\export (1).ndjson", "export _1_.ndjson"),
        ("<script>.csv.gz", "_script_.csv.gz"),
        ("..", "upload.csv"),
        ("", "upload.csv"),
    ],
)
def test_safe_file_name(name: str, expected: str) -> None:
    assert admin.safe_file_name(name) == expected


def test_safe_file_name_keeps_extensions_of_long_names() -> None:
    name = admin.safe_file_name("a" * 400 + ".jsonl.gz")
    assert len(name) == 150 and name.endswith("a.jsonl.gz")


def test_save_upload_copies_the_stream(tmp_path: Path) -> None:
    stream = io.BytesIO(b"id,text\n1,hello\n")
    stream.read()  # a stream already read (Streamlit's UploadedFile may be) is rewound
    path = admin.save_upload(stream, "../x/data.csv", tmp_path)
    assert path == tmp_path / "data.csv"
    assert path.read_bytes() == b"id,text\n1,hello\n"


# -- history and rejected rows ----------------------------------------------------------


BAD_ROWS = [
    {"id": "11", "text": "fine post about northwind", "created_at": "2026-11-01T10:00:00Z", "likes": "1"},
    {"id": "12", "text": '=HYPERLINK("http://evil")', "created_at": "not a date", "likes": "2"},
    {"id": "13", "text": "", "created_at": "2026-11-01T11:00:00Z", "likes": "3"},
    {"id": "11", "text": "fine post about northwind", "created_at": "2026-11-01T10:00:00Z", "likes": "1"},
    {"id": "14", "text": "+cmd|' /C calc'!A0", "created_at": "2026-11-01T12:00:00Z", "likes": "-5"},
]


def test_import_history_newest_first_with_the_import_counts(engine, tmp_path: Path) -> None:
    first = import_file(write(tmp_path / "a.csv", csv_bytes(GOOD_ROWS)), engine=engine)
    second = import_file(write(tmp_path / "b.csv", csv_bytes(BAD_ROWS)), engine=engine)
    again = import_file(write(tmp_path / "a2.csv", csv_bytes(GOOD_ROWS)), engine=engine)
    h = admin.import_history(engine=engine)
    assert list(h.columns) == list(admin.HISTORY_COLUMNS)
    assert list(h["id"]) == [again.batch_id, second.batch_id, first.batch_id]
    for row, result in zip(h.itertuples(), [again, second, first], strict=True):
        assert (row.file_name, row.status, row.source) == (result.file_name, "done", "file")
        assert (row.read, row.stored, row.updated, row.duplicates, row.rejected) == (
            result.read,
            result.stored,
            result.updated,
            result.duplicates,
            result.rejected,
        )
    assert (second.read, second.stored, second.duplicates, second.rejected) == (5, 1, 1, 3)
    assert (again.stored, again.duplicates) == (0, 3)
    assert str(h["started_at"].dt.tz) == "UTC"
    assert h["finished_at"].notna().all()
    assert list(admin.import_history(engine=engine, limit=2)["id"]) == [again.batch_id, second.batch_id]


def test_import_history_of_an_empty_database(engine) -> None:
    h = admin.import_history(engine=engine)
    assert h.empty and list(h.columns) == list(admin.HISTORY_COLUMNS)


def test_batch_rejections_list_every_row_not_stored(engine, tmp_path: Path) -> None:
    result = import_file(write(tmp_path / "bad.csv", csv_bytes(BAD_ROWS)), engine=engine)
    rows = admin.batch_rejections(engine=engine, batch_id=result.batch_id)
    assert list(rows.columns) == ["row", "reason", "raw"]
    assert list(rows["row"]) == [r.row for r in result.rejections] == [3, 4, 5, 6]
    assert list(rows["reason"]) == [r.reason for r in result.rejections]
    assert "bad date" in rows.loc[0, "reason"] and "HYPERLINK" in rows.loc[0, "raw"]
    assert "empty text" in rows.loc[1, "reason"]
    assert rows.loc[2, "reason"].startswith("duplicate of row 2")
    assert "negative count" in rows.loc[3, "reason"]
    assert len(admin.batch_rejections(engine=engine, batch_id=result.batch_id, limit=2)) == 2
    assert admin.batch_rejections(engine=engine, batch_id=result.batch_id + 99).empty


def test_rejections_csv_is_formula_safe(engine, tmp_path: Path) -> None:
    result = import_file(write(tmp_path / "bad.csv", csv_bytes(BAD_ROWS)), engine=engine)
    data = admin.rejections_csv(engine=engine, batch_id=result.batch_id)
    assert data.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert parsed[0] == ["row", "reason", "raw"]
    table = admin.batch_rejections(engine=engine, batch_id=result.batch_id)
    assert [int(r[0]) for r in parsed[1:]] == list(table["row"])
    for cells in parsed[1:]:
        for cell in cells[1:]:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    raws = [r[2] for r in parsed[1:]]
    assert any(r.startswith("id=12; text=") for r in raws)  # the raw content of the bad row is kept
    assert any("=HYPERLINK" in r for r in raws)


def test_rejections_csv_neutralises_cells_starting_a_formula(engine) -> None:
    with engine.begin() as conn:
        batch = conn.execute(
            sa.insert(ImportBatch.__table__).values(source="file", file_name="x")
        ).inserted_primary_key[0]
        conn.execute(
            sa.text(
                "INSERT INTO importrejection (batch_id, row_number, reason, raw) VALUES (:b, 2, :r, :raw)"
            ),
            {"b": batch, "r": "@SUM(A1)", "raw": '=1+1,"quoted"\nnext'},
        )
    parsed = list(
        csv.reader(io.StringIO(admin.rejections_csv(engine=engine, batch_id=batch).decode("utf-8-sig")))
    )
    assert parsed[1] == ["2", "'@SUM(A1)", '\'=1+1,"quoted"\nnext']


# -- brands and queries -----------------------------------------------------------------


def _store(engine, texts: list[str], *, authors: list[str] | None = None) -> None:
    authors = authors or [f"user{i}" for i in range(len(texts))]
    items = [
        mention(i, text=t, author=a, created_at=T0 + timedelta(minutes=i))
        for i, (t, a) in enumerate(zip(texts, authors, strict=True))
    ]
    ingest_mentions(items, engine=engine, source="test", workers=1)


def test_brand_table_counts_linked_mentions(engine) -> None:
    add_brand(engine=engine, name="Zeta", query="zeta")
    add_brand(engine=engine, name="Northwind", query="northwind OR nw", is_own=True, colour="#123456")
    add_brand(engine=engine, name="empty", query="")
    _store(engine, ["northwind rocks", "zeta and northwind", "nw again", "nothing here", "ZETA"])
    t = admin.brand_table(engine=engine)
    assert list(t.columns) == ["id", "name", "is_own", "query", "colour", "mentions"]
    assert list(t["name"]) == ["Northwind", "empty", "Zeta"]  # own first, then by name, any case
    assert list(t["mentions"]) == [3, 0, 2]
    assert list(t["is_own"]) == [True, False, False]
    assert t.loc[0, "colour"] == "#123456" and t.loc[0, "query"] == "northwind OR nw"
    with engine.connect() as conn:
        links = dict(
            conn.execute(
                sa.select(MentionBrand.brand_id, sa.func.count()).group_by(MentionBrand.brand_id)
            ).all()
        )
    assert {int(r.id): int(r.mentions) for r in t.itertuples() if r.mentions} == links


def test_brand_table_of_an_empty_database(engine) -> None:
    assert admin.brand_table(engine=engine).empty


TEXTS = [
    "Northwind Bank is great",
    "the northwind app crashed again #fail",
    "affordable loans everywhere",
    "I moved to Contoso from northwind",
    "@northwind why is my card blocked",
    "northwinds of change",
    "Contoso bank fees are awful",
    "#northwind love it",
]
AUTHORS = ["a", "b", "c", "d", "e", "f", "northwind_help", "g"]


@pytest.mark.parametrize(
    "query",
    [
        "northwind",
        '"northwind bank"',
        "northwind NOT contoso",
        "#northwind",
        "@northwind",
        "northwind*",
        "contoso OR ford",
        "author:northwind_help",
        "(northwind OR contoso) AND -fees",
    ],
)
def test_count_query_matches_equals_matching_every_mention(engine, query: str) -> None:
    _store(engine, TEXTS, authors=AUTHORS)
    parsed = parse_query(query)
    expected = sum(parsed.matches(prepare(t, a)) for t, a in zip(TEXTS, AUTHORS, strict=True))
    assert admin.count_query_matches(engine=engine, query=query) == (expected, len(TEXTS))


def test_count_query_matches_samples_the_latest_mentions(engine) -> None:
    _store(engine, ["northwind old"] * 5 + ["contoso new"] * 3)  # created one minute apart
    assert admin.count_query_matches(engine=engine, query="contoso", sample=3) == (3, 3)
    assert admin.count_query_matches(engine=engine, query="northwind", sample=3) == (0, 3)
    assert admin.count_query_matches(engine=engine, query="northwind", sample=4) == (1, 4)
    assert admin.count_query_matches(engine=engine, query="northwind") == (5, 8)


def test_count_query_matches_of_an_empty_query_and_database(engine) -> None:
    assert admin.count_query_matches(engine=engine, query="northwind") == (0, 0)
    _store(engine, TEXTS[:3])
    assert admin.count_query_matches(engine=engine, query="  ") == (0, 3)


@pytest.mark.parametrize("query", ["(northwind", "northwind AND", '"open phrase', "OR x"])
def test_count_query_matches_refuses_a_bad_query(engine, query: str) -> None:
    with pytest.raises(QuerySyntaxError, match="at position"):
        admin.count_query_matches(engine=engine, query=query)


@pytest.mark.parametrize(
    ("query", "message", "pointer"),
    [
        (
            "northwind AND (outage OR down",
            "Unclosed parenthesis at position 15",
            "northwind AND (outage OR down\n              ^",
        ),
        ("a OR\n(b AND", "AND needs a term after it", "(b AND\n      ^"),
        ('"open', "Unterminated quote", '"open\n^'),
    ],
)
def test_query_error_points_at_the_mistake(query: str, message: str, pointer: str) -> None:
    problem = admin.query_error(query)
    assert problem is not None
    assert message in problem[0] and problem[1] == pointer


@pytest.mark.parametrize("query", ["", "northwind", '"northwind bank" OR @northwind NOT #jobs'])
def test_query_error_of_a_valid_query_is_none(query: str) -> None:
    assert admin.query_error(query) is None


def test_suggested_colour_is_the_one_add_brand_picks(engine) -> None:
    first = suggest_colour(engine=engine)
    assert add_brand(engine=engine, name="A").colour == first
    second = suggest_colour(engine=engine)
    assert second != first and add_brand(engine=engine, name="B").colour == second


def test_mention_count(engine) -> None:
    assert admin.mention_count(engine=engine) == 0
    _store(engine, TEXTS)
    assert admin.mention_count(engine=engine) == len(TEXTS)


# -- evaluation -------------------------------------------------------------------------


def test_evaluation_table_has_the_report_figures() -> None:
    r = report(
        "mine",
        ["positive", "positive", "negative", "neutral"],
        ["positive", "negative", "negative", "neutral"],
        human=[2.0, 1.0, -3.0, 0.0],
        compounds=[0.8, -0.2, -0.9, 0.0],
        skipped=2,
    )
    t = admin.evaluation_table([r])
    assert list(t.columns) == [
        "set",
        "n",
        "pearson_r",
        "accuracy",
        "macro_f1",
        "precision_positive",
        "recall_positive",
        "precision_neutral",
        "recall_neutral",
        "precision_negative",
        "recall_negative",
        "skipped",
    ]
    row = t.iloc[0]
    assert (row["set"], row["n"], row["skipped"]) == ("mine", 4, 2)
    assert row["accuracy"] == pytest.approx(0.75)
    assert row["pearson_r"] == pytest.approx(r.pearson_r)
    assert row["macro_f1"] == pytest.approx(r.macro_f1)
    assert row["precision_negative"] == pytest.approx(0.5) and row["recall_positive"] == pytest.approx(0.5)


def test_evaluation_table_without_a_correlation() -> None:
    r = report("labels only", ["positive", "negative"], ["positive", "positive"])
    t = admin.evaluation_table([r])
    assert pd.isna(t.loc[0, "pearson_r"]) and t["pearson_r"].dtype == "float64"


def test_evaluation_table_of_the_ground_truth(tmp_path: Path) -> None:
    (tmp_path / "tweets_GroundTruth.txt").write_text(
        "1\t2.5\tI love it\n2\t-3.0\tawful, terrible\n3\t0.1\tit is a phone\n4\t1.5\tgood enough\n"
    )
    reports = evaluate_ground_truth(tmp_path)
    t = admin.evaluation_table(reports)
    assert list(t["set"]) == ["tweets"]
    assert t.loc[0, "n"] == 4
    assert t.loc[0, "accuracy"] == pytest.approx(reports[0].accuracy)


def test_csv_header_and_guessed_columns(tmp_path: Path) -> None:
    path = tmp_path / "labelled.csv"
    path.write_text("tweet_id,airline_sentiment,Text\n1,negative,bad\n", encoding="utf-8")
    assert admin.csv_header(path) == ["tweet_id", "airline_sentiment", "Text"]
    assert admin.guess_columns(admin.csv_header(path)) == ("Text", "airline_sentiment")
    report_ = evaluate_labelled_csv(path, text_column="Text", label_column="airline_sentiment")
    assert report_.n == 1
    assert admin.guess_columns(["a", "b"]) == (None, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "no header row"), (b",,\n1,2,3\n", "no header row"), (b"\xff\xfe\x00t\x00e", "UTF-8")],
)
def test_csv_header_refuses_unreadable_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with pytest.raises(ImportFormatError, match=message):
        admin.csv_header(path)
