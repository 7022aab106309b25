"""The file importer: formats, mapping, the bad-input corpus, idempotency and updates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from scrm.brands import add_brand
from scrm.exceptions import ImportFormatError
from scrm.ingest.mapping import detect_mapping, parse_map_args
from scrm.ingest.pipeline import import_file, ingest_mentions
from scrm.models import Author, ImportBatch, ImportRejection, Mention, MentionBrand
from tests.factories import GOOD_ROWS, csv_bytes, mention, ndjson_bytes, write


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table.__table__)).scalar_one()


def stored_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(Mention.__table__.c.external_id)).scalars())


def test_detect_mapping_of_common_exports() -> None:
    airline = [
        "tweet_id",
        "airline_sentiment",
        "airline",
        "name",
        "retweet_count",
        "text",
        "tweet_created",
        "tweet_location",
        "user_timezone",
    ]
    assert detect_mapping(airline) == {
        "external_id": "tweet_id",
        "text": "text",
        "created_at": "tweet_created",
        "author": "name",
        "shares": "retweet_count",
        "brand": "airline",
    }
    reddit = [
        "id",
        "author",
        "title",
        "selftext",
        "created_utc",
        "score",
        "num_comments",
        "permalink",
        "subreddit",
    ]
    m = detect_mapping(reddit)
    assert m["text"] == "selftext" and m["likes"] == "score" and m["comments"] == "num_comments"
    assert m["url"] == "permalink" and m["created_at"] == "created_utc"
    api = ["id_str", "full_text", "created_at", "user.screen_name", "user.followers_count", "favorite_count"]
    m = detect_mapping(api)
    assert m["author"] == "user.screen_name" and m["followers"] == "user.followers_count"
    assert m["external_id"] == "id_str" and m["text"] == "full_text"


def test_parse_map_args_refuses_unknown_fields() -> None:
    assert parse_map_args(["text=Body", "created_at = When"]) == {"text": "Body", "created_at": "When"}
    with pytest.raises(ImportFormatError, match="Unknown field 'colour'"):
        parse_map_args(["colour=x"])
    with pytest.raises(ImportFormatError, match="field=column"):
        parse_map_args(["text"])


@pytest.mark.parametrize("fmt", ["csv", "tsv", "semicolon", "ndjson", "json", "csv.gz", "json.gz"])
def test_formats_import_the_same_rows(memory_engine, tmp_path: Path, fmt: str) -> None:
    data = {
        "csv": csv_bytes(GOOD_ROWS),
        "tsv": csv_bytes(GOOD_ROWS, delimiter="\t"),
        "semicolon": csv_bytes(GOOD_ROWS, delimiter=";"),
        "ndjson": ndjson_bytes(GOOD_ROWS),
        "json": json.dumps(GOOD_ROWS, indent=1).encode(),
        "csv.gz": csv_bytes(GOOD_ROWS),
        "json.gz": json.dumps(GOOD_ROWS).encode(),
    }[fmt]
    suffix = {"tsv": "tsv", "semicolon": "csv"}.get(fmt, fmt)
    path = write(tmp_path / f"posts.{suffix}", data, gz=fmt.endswith(".gz"))
    result = import_file(path, engine=memory_engine, platform="twitter")
    assert (result.read, result.stored, result.rejected) == (3, 3, 0), result.rejections
    assert stored_ids(memory_engine) == {"1", "2", "3"}
    with memory_engine.connect() as conn:
        handles = set(conn.execute(sa.select(Author.__table__.c.handle)).scalars())
    assert handles == {"alice", "bob", "carol"}


def test_twitter_api_json_with_nested_user(memory_engine, tmp_path: Path) -> None:
    doc = {
        "data": [
            {
                "id_str": "991",
                "full_text": "@Northwind thanks, fixed!",
                "created_at": "Tue Oct 31 22:10:47 +0000 2017",
                "user": {"screen_name": "Dana", "followers_count": 1200},
                "favorite_count": 4,
                "retweet_count": 1,
            },
        ]
    }
    path = write(tmp_path / "api.json", json.dumps(doc))
    result = import_file(path, engine=memory_engine)
    assert result.stored == 1
    with memory_engine.connect() as conn:
        row = conn.execute(sa.select(Mention.__table__)).mappings().one()
    assert row["platform"] == "twitter" and row["reach"] == 1200 and row["likes"] == 4 and row["shares"] == 1


BAD_FILES = [
    ("empty.csv", b"", "is empty"),
    ("blank.csv", b"\n\n  \n", "is empty"),
    ("garbage.csv", bytes(range(256)) * 64, "not a text file"),
    ("latin1.csv", b"id,text\n" + "caf\xe9 ".encode("latin-1") * 400, "not UTF-8"),
    ("header.csv", b"id,text,created_at\n", "header but no rows"),
    ("notext.csv", b"id,created_at,author\n1,2026-11-01,bob\n", "No text column"),
    ("nodate.csv", b"id,text\n1,hello\n", "No date column"),
    ("fake.csv.gz", b"id,text,created_at\n1,hi,2026-11-01\n", "not gzip"),
    ("scalar.json", b"42", "not a JSON array"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_unreadable_files_are_one_clear_error(memory_engine, tmp_path, name, data, message) -> None:
    ingest_mentions([mention(1)], engine=memory_engine, source="test")
    with pytest.raises(ImportFormatError, match=message):
        import_file(write(tmp_path / name, data), engine=memory_engine)
    assert stored_ids(memory_engine) == {"m1"}  # nothing stored before is damaged


def _rows_with(bad: dict) -> bytes:
    return csv_bytes([GOOD_ROWS[0], {**GOOD_ROWS[1], **bad}, GOOD_ROWS[2]])


BAD_ROWS = [
    ("bad date", _rows_with({"created_at": "last tuesday"}), "bad date in column 'created_at'"),
    ("empty text", _rows_with({"text": "   "}), "empty text"),
    ("negative count", _rows_with({"likes": "-4"}), "negative count"),
    ("non-numeric count", _rows_with({"likes": "lots"}), "not a number"),
    ("5 MB field", _rows_with({"text": "x" * 5_000_000}), "5,000,000 characters"),
    ("NUL byte", _rows_with({"text": "bad\x00text"}), "NUL bytes"),
    (
        "invalid UTF-8",
        csv_bytes(GOOD_ROWS[:1])
        + b'2,"broken \xff\xfe text",2026-11-01,bob,1\n'
        + csv_bytes(GOOD_ROWS[2:]).split(b"\n", 1)[1],
        "invalid UTF-8",
    ),
    (
        "too many fields",
        csv_bytes(GOOD_ROWS[:1])
        + b"2,a,2026-11-01,bob,1,extra\n"
        + csv_bytes(GOOD_ROWS[2:]).split(b"\n", 1)[1],
        "6 fields but the header has 5",
    ),
]


@pytest.mark.parametrize(("case", "data", "reason"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_bad_rows_are_rejected_with_row_and_reason(engine, tmp_path, case, data, reason) -> None:
    result = import_file(write(tmp_path / "posts.csv", data), engine=engine)
    assert (result.read, result.stored, result.rejected) == (3, 2, 1)
    assert len(result.rejections) == 1
    assert result.rejections[0].row == 3  # line 3 of the file: the header is line 1
    assert reason in result.rejections[0].reason
    assert stored_ids(engine) == {"1", "3"}
    with engine.connect() as conn:
        rej = conn.execute(sa.select(ImportRejection.__table__)).mappings().one()
    assert rej["row_number"] == 3 and reason in rej["reason"] and len(rej["raw"]) <= 2000


def test_duplicate_rows_in_one_file(engine, tmp_path) -> None:
    data = csv_bytes([*GOOD_ROWS, GOOD_ROWS[0]])
    result = import_file(write(tmp_path / "dup.csv", data), engine=engine, batch_size=2)
    assert (result.read, result.stored, result.duplicates, result.rejected) == (4, 3, 1, 0)
    assert [r.row for r in result.rejections] == [5]
    assert "duplicate" in result.rejections[0].reason
    assert count(engine, Mention) == 3


def test_truncated_json_keeps_the_rows_before(memory_engine, tmp_path) -> None:
    data = json.dumps(GOOD_ROWS)[:-40].encode()
    result = import_file(write(tmp_path / "cut.json", data), engine=memory_engine)
    assert result.stored == 2 and result.rejected == 1
    assert "truncated JSON" in result.rejections[0].reason and result.rejections[0].row == 3


def test_one_bad_ndjson_line(memory_engine, tmp_path) -> None:
    lines = ndjson_bytes(GOOD_ROWS).split(b"\n")
    lines[1] = b'{"id": "2", "text": "oops",'
    result = import_file(write(tmp_path / "x.ndjson", b"\n".join(lines)), engine=memory_engine)
    assert (result.stored, result.rejected) == (2, 1)
    assert result.rejections[0].row == 2 and "invalid JSON" in result.rejections[0].reason


def test_formula_text_is_stored_as_text(memory_engine, tmp_path) -> None:
    rows = [{**GOOD_ROWS[0], "text": '=HYPERLINK("http://evil","click")'}]
    result = import_file(write(tmp_path / "f.csv", csv_bytes(rows)), engine=memory_engine)
    assert result.stored == 1
    with memory_engine.connect() as conn:
        assert conn.execute(sa.select(Mention.__table__.c.text)).scalar_one() == rows[0]["text"]


def test_unknown_mapped_column_is_an_error(memory_engine, tmp_path) -> None:
    with pytest.raises(ImportFormatError, match="'Body' given in --map is not in the file"):
        import_file(
            write(tmp_path / "a.csv", csv_bytes(GOOD_ROWS)), engine=memory_engine, mapping={"text": "Body"}
        )


def test_explicit_mapping_and_timezone(memory_engine, tmp_path) -> None:
    rows = [{"Post": "hello there", "When": "2026-07-01 12:00:00", "Who": "Eve", "Key": "k1"}]
    result = import_file(
        write(tmp_path / "m.csv", csv_bytes(rows)),
        engine=memory_engine,
        mapping={"text": "Post", "created_at": "When", "author": "Who", "external_id": "Key"},
        timezone="Europe/Paris",
        platform="facebook",
    )
    assert result.stored == 1 and result.mapping["text"] == "Post"
    with memory_engine.connect() as conn:
        row = conn.execute(sa.select(Mention.__table__)).mappings().one()
    assert row["created_at"].hour == 10 and row["platform"] == "facebook" and row["external_id"] == "k1"


def test_reimport_stores_nothing_and_newer_export_updates_metrics(engine, tmp_path) -> None:
    path = write(tmp_path / "a.csv", csv_bytes(GOOD_ROWS))
    first = import_file(path, engine=engine)
    second = import_file(path, engine=engine)
    assert first.stored == 3
    assert (second.read, second.stored, second.updated, second.duplicates) == (3, 0, 0, 3)
    assert count(engine, Mention) == 3
    newer = [dict(r) for r in GOOD_ROWS]
    newer[0]["likes"] = "40"
    third = import_file(write(tmp_path / "b.csv", csv_bytes(newer)), engine=engine)
    assert (third.stored, third.updated, third.duplicates) == (0, 1, 2)
    with engine.connect() as conn:
        likes = conn.execute(
            sa.select(Mention.__table__.c.likes).where(Mention.__table__.c.external_id == "1")
        )
        assert likes.scalar_one() == 40
    with engine.connect() as conn:
        batches = (
            conn.execute(sa.select(ImportBatch.__table__).order_by(ImportBatch.__table__.c.id))
            .mappings()
            .all()
        )
    assert [b["status"] for b in batches] == ["done"] * 3
    assert batches[0]["file_hash"] == batches[1]["file_hash"] != batches[2]["file_hash"]
    assert batches[1]["duplicates"] == 3


def test_rows_without_id_get_a_stable_key(memory_engine, tmp_path) -> None:
    rows = [{k: v for k, v in r.items() if k != "id"} for r in GOOD_ROWS]
    path = write(tmp_path / "noid.csv", csv_bytes(rows))
    assert import_file(path, engine=memory_engine).stored == 3
    assert import_file(path, engine=memory_engine).duplicates == 3
    assert all(i.startswith("h:") for i in stored_ids(memory_engine))


def test_brands_by_query_and_by_column(engine, tmp_path) -> None:
    add_brand(engine=engine, name="Northwind", query="northwind OR @northwind", is_own=True)
    rows = [dict(r) for r in GOOD_ROWS]
    rows[1]["brand"] = "Harbor"
    rows[0]["brand"] = ""
    rows[2]["brand"] = ""
    result = import_file(write(tmp_path / "b.csv", csv_bytes(rows)), engine=engine)
    assert result.stored == 3
    with engine.connect() as conn:
        links = conn.execute(
            sa.text(
                "SELECT m.external_id, b.name FROM mention_brand mb JOIN mention m ON m.id = mb.mention_id "
                "JOIN brand b ON b.id = mb.brand_id ORDER BY 1, 2"
            )
        ).all()
    assert [tuple(r) for r in links] == [("1", "Northwind"), ("2", "Harbor"), ("3", "Northwind")]


def test_mention_brand_copies_label_and_metrics(memory_engine) -> None:
    add_brand(engine=memory_engine, name="Northwind", query="northwind")
    ingest_mentions(
        [mention(1, text="northwind is awful and terrible", likes=2, shares=3, comments=4)],
        engine=memory_engine,
        source="test",
    )
    with memory_engine.connect() as conn:
        link = conn.execute(sa.select(MentionBrand.__table__)).mappings().one()
        m = conn.execute(sa.select(Mention.__table__)).mappings().one()
    assert link["label"] == m["label"] == "negative"
    assert link["engagement"] == 9 and link["reach"] == m["reach"] == 101
    assert link["ts"] == int(m["created_at"].timestamp())


def test_authors_remembered_across_batches_stay_exact(engine) -> None:
    # batches of 2: "dana" appears in every batch, her follower count changes (0 = unknown)
    followers = [10, 10, 25, 0, 40, 40, 5]
    posts = [mention(i, author="dana", followers=f) for i, f in enumerate(followers)]
    posts += [mention(100 + i, author=f"new{i}", followers=i + 1) for i in range(3)]
    result = ingest_mentions(posts, engine=engine, source="test", batch_size=2, workers=1)
    assert result.stored == 10
    with engine.connect() as conn:
        after_first = conn.execute(
            sa.select(Author.__table__.c.followers).where(Author.__table__.c.handle == "dana")
        ).scalar_one()
    assert after_first == 5  # the latest post's count, refreshed batch after batch
    # a second run (a new pipeline, nothing remembered) finds the stored authors
    ingest_mentions([mention(200, author="dana", followers=7)], engine=engine, source="test", workers=1)
    with engine.connect() as conn:
        authors = {r.handle: (r.id, r.followers) for r in conn.execute(sa.select(Author.__table__))}
        by_mention = dict(
            conn.execute(sa.select(Mention.__table__.c.external_id, Mention.__table__.c.author_id)).all()
        )
    assert set(authors) == {"dana", "new0", "new1", "new2"}
    assert authors["dana"][1] == 7 and authors["new2"][1] == 3
    assert {by_mention[f"m{i}"] for i in [*range(7), 200]} == {authors["dana"][0]}
    assert by_mention["m101"] == authors["new1"][0]
