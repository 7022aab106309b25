"""The Data page through the real router: import, history, brands, re-score."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pages.ui import plain
from scrm import admin
from scrm.brands import get_brand, list_brands
from scrm.ingest.mapping import FIELDS
from tests.factories import csv_bytes
from tests.pages.conftest import COMPETITOR, OWN

PAGE = "pages/data.py"
ROWS = [
    {
        "id": "u1",
        "text": "Northwind fixed my issue, thank you",
        "created_at": "2026-11-01T10:00:00Z",
        "likes": "4",
    },
    {"id": "u2", "text": '=HYPERLINK("http://evil") northwind', "created_at": "yesterday-ish", "likes": "1"},
    {
        "id": "u3",
        "text": "Contoso outage again, awful",
        "created_at": "2026-11-01 11:00:00 -0800",
        "likes": "2",
    },
    {
        "id": "u1",
        "text": "Northwind fixed my issue, thank you",
        "created_at": "2026-11-01T10:00:00Z",
        "likes": "4",
    },
    {"id": "u4", "text": "", "created_at": "2026-11-01T12:00:00Z", "likes": "0"},
]
MARKDOWN_ELEMENTS = ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader")


def _texts(at: AppTest) -> list[str]:
    """Every text Streamlit renders as markdown on the page."""
    return [str(e.value) for kind in MARKDOWN_ELEMENTS for e in getattr(at, kind)]


def _mapping_boxes(at: AppTest) -> dict[str, Any]:
    """The mapping selectboxes by field (their keys are data_map_<file id>_<field>)."""
    boxes = [b for b in at.selectbox if b.key and b.key.startswith("data_map_")]
    return {fld: next(b for b in boxes if b.key.endswith("_" + fld)) for fld in FIELDS}


# Dataframes are found by tab (a read-only st.dataframe carries no key): Import is tab 0
# (preview, then rejected rows), History tab 1 (imports, then rejected rows), Brands tab 2.


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="data_upload").set_value((name, data, "text/csv"))
    return at.run()


def test_page_renders_the_tabs_history_and_brands(run_page, page_db) -> None:
    at = run_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Data"
    assert [t.label for t in at.tabs] == ["Import", "History", "Brands", "Re-score", "Reddit"]

    history = at.tabs[1].dataframe[0].value
    expected = admin.import_history(engine=page_db.engine)
    assert list(history["id"]) == list(expected["id"])
    assert list(history["file_name"]) == ["page-fixture"]
    for col in ("read", "stored", "updated", "duplicates", "rejected"):
        assert list(history[col]) == list(expected[col]), col
    assert history.loc[0, "stored"] == page_db.mentions

    brands = at.tabs[2].dataframe[0].value
    table = admin.brand_table(engine=page_db.engine)
    assert list(brands["name"]) == list(table["name"]) == [OWN, COMPETITOR]
    assert list(brands["mentions"]) == list(table["mentions"])
    assert list(brands["query"]) == ["northwind", "contoso"]
    assert sum(table["mentions"]) > 0

    assert any(f"**{page_db.mentions:,}**" in m.value for m in at.markdown)  # re-score tab


def test_upload_previews_maps_and_imports_with_the_counts_shown(run_page, page_db) -> None:
    at = _upload(run_page(PAGE), "export.csv", csv_bytes(ROWS))
    assert not at.exception, [e.value for e in at.exception]
    preview = at.tabs[0].dataframe[0].value
    assert list(preview.columns) == ["id", "text", "created_at", "likes"]
    assert list(preview["id"]) == [r["id"] for r in ROWS]
    boxes = _mapping_boxes(at)
    assert {f: b.value for f, b in boxes.items() if b.value} == {
        "external_id": "id",
        "text": "text",
        "created_at": "created_at",
        "likes": "likes",
    }
    before = admin.mention_count(engine=page_db.engine)

    at.button(key="data_import_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    batch = admin.import_history(engine=page_db.engine).iloc[0]
    assert batch["file_name"] == "export.csv" and batch["status"] == "done"
    shown = {m.label: m.value for m in at.metric}
    assert shown == {
        "Rows read": f"{batch['read']:,}",
        "New mentions": f"{batch['stored']:,}",
        "Updated": f"{batch['updated']:,}",
        "Duplicates": f"{batch['duplicates']:,}",
        "Rejected": f"{batch['rejected']:,}",
    }
    assert (batch["read"], batch["stored"], batch["duplicates"], batch["rejected"]) == (5, 2, 1, 2)
    assert admin.mention_count(engine=page_db.engine) == before + 2

    rejected = at.tabs[0].dataframe[1].value
    expected = admin.batch_rejections(engine=page_db.engine, batch_id=int(batch["id"]))
    assert list(rejected["row"]) == list(expected["row"]) == [3, 5, 6]
    assert list(rejected["reason"]) == list(expected["reason"])
    assert "=HYPERLINK" in rejected.loc[0, "raw"]
    assert at.get_by_key("data_result_rejections_download").label.startswith("Download")

    # the data cache was cleared: the history tab shows the new import
    history = at.tabs[1].dataframe[0].value
    assert history.iloc[0]["id"] == batch["id"]
    assert int(history.loc[0, "rejected"]) == 2


def test_mapping_changes_reach_the_import(run_page, page_db) -> None:
    rows = [
        {"Words": "Northwind is great", "When": "2026-11-02 09:00", "Hearts": "7"},
        {"Words": "Contoso is fine", "When": "2026-11-02 10:00", "Hearts": "1"},
    ]
    at = _upload(run_page(PAGE), "crm.csv", csv_bytes(rows))
    assert not at.exception
    assert any("post text" in e.value for e in at.error)  # no column detected for the text
    boxes = _mapping_boxes(at)
    boxes["text"].set_value("Words").run()
    assert any("date and time" in e.value for e in at.error)
    _mapping_boxes(at)["created_at"].set_value("When").run()
    _mapping_boxes(at)["likes"].set_value("Hearts").run()
    assert not at.error
    at.selectbox(key="data_import_tz").set_value("Europe/Paris").run()
    platform = next(b for b in at.selectbox if b.key and b.key.startswith("data_platform_"))
    platform.set_value("facebook").run()
    at.button(key="data_import_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["New mentions"] == "2"

    import sqlalchemy as sa

    from scrm.models import Mention

    with page_db.engine.connect() as conn:
        stored = conn.execute(
            sa.select(Mention.platform, Mention.likes, Mention.created_at).where(
                Mention.text == "Northwind is great"
            )
        ).one()
    assert stored.platform == "facebook" and stored.likes == 7
    assert stored.created_at.hour == 8  # 09:00 in Paris (UTC+1 in November)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"   \n", "is empty"),
        ("binary.csv", bytes(range(256)) * 40, "not a text file"),
        ("fake.json.gz", b'[{"text": "x"}]', "not gzip data"),
        ("dupes.csv", b"text,text\n1,2\n", "duplicate column names"),
    ],
)
def test_a_bad_upload_is_an_error_message_not_a_traceback(
    run_page, name: str, data: bytes, message: str
) -> None:
    at = _upload(run_page(PAGE), name, data)
    assert not at.exception, [e.value for e in at.exception]
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_untrusted_file_names_columns_and_cells_stay_text(run_page) -> None:
    hostile = "[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    data = csv_bytes(
        [{"text": f"**bold** {hostile}", "created_at": "2026-11-01T10:00:00Z", hostile: "1", "id": "h1"}]
    )
    at = _upload(run_page(PAGE), "[evil](javascript:alert(2)).csv", data)
    assert not at.exception
    at.button(key="data_import_button").click().run()
    assert not at.exception
    rendered = _texts(at)
    assert any(plain("[evil](javascript:alert(2)).csv") in t for t in rendered)  # shown, escaped
    for text in rendered:
        assert "](javascript" not in text, text
        assert not re.search(r"(?<!\\)<img", text), text  # markdown shows an escaped \< literally
    assert not at.get("html")  # nothing rendered as HTML


def test_brand_editor_validates_counts_and_adds(run_page, page_db) -> None:
    at = run_page(PAGE)
    assert at.selectbox(key="data_brand_target").value == 0
    at.text_input(key="data_brand_name_0").input("Fabrikam")
    at.text_area(key="data_brand_query_0").input("(northwind OR").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Query error" in e and "position" in e for e in errors), errors
    assert at.code[0].value == "(northwind OR\n             ^"  # the caret under the mistake

    at.text_area(key="data_brand_query_0").input("northwind NOT thank").run()
    matched, sampled = admin.count_query_matches(engine=page_db.engine, query="northwind NOT thank")
    assert sampled == page_db.mentions and 0 < matched < sampled
    assert any(f"{matched:,} of the latest {sampled:,} mentions match" in i.value for i in at.info)

    at.button(key="data_brand_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = get_brand(engine=page_db.engine, name="Fabrikam")
    assert saved.query == "northwind NOT thank" and not saved.is_own
    assert any("Saved brand Fabrikam" in s.value for s in at.success)
    assert "Fabrikam" in list(at.tabs[2].dataframe[0].value["name"])
    assert at.text_input(key="data_brand_name_0").value == ""  # an empty form for the next one


def test_brand_errors_are_shown(run_page, page_db) -> None:
    at = run_page(PAGE)
    at.text_input(key="data_brand_name_0").input("northwind bank")
    at.button(key="data_brand_save").click().run()
    assert not at.exception
    assert any("already exists" in e.value for e in at.error)
    at.text_input(key="data_brand_name_0").input("   ")
    at.button(key="data_brand_save").click().run()
    assert any("needs a name" in e.value for e in at.error)
    assert len(list_brands(engine=page_db.engine)) == 2


def test_brand_edit_changes_query_and_flag(run_page, page_db) -> None:
    at = run_page(PAGE)
    other = page_db.brands[COMPETITOR]
    at.selectbox(key="data_brand_target").set_value(other).run()
    assert at.text_input(key=f"data_brand_name_{other}").value == COMPETITOR
    assert at.text_area(key=f"data_brand_query_{other}").value == "contoso"
    at.text_area(key=f"data_brand_query_{other}").input('contoso OR "contoso bank"')
    at.toggle(key=f"data_brand_own_{other}").set_value(True)
    at.button(key="data_brand_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    brand = get_brand(engine=page_db.engine, name=COMPETITOR)
    assert brand.query == 'contoso OR "contoso bank"' and brand.is_own


def test_rescore_all(run_page, page_db) -> None:
    at = run_page(PAGE)
    at.button(key="data_rescore").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"{page_db.mentions:,} mentions re-scored" in s.value for s in at.success)


def test_rejected_rows_of_past_imports_from_the_history(run_page, page_db, tmp_path) -> None:
    from scrm.ingest.pipeline import import_file

    path = tmp_path / "old.csv"
    path.write_bytes(csv_bytes(ROWS))
    result = import_file(path, engine=page_db.engine)
    at = run_page(PAGE)
    assert at.selectbox(key="data_history_batch").value == result.batch_id
    shown = at.tabs[1].dataframe[1].value
    assert list(shown["row"]) == [r.row for r in result.rejections]
    data = admin.rejections_csv(engine=page_db.engine, batch_id=result.batch_id).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(data)))) == len(result.rejections) + 1


def test_removing_the_upload_deletes_its_temp_copy(run_page) -> None:
    at = _upload(run_page(PAGE), "export.csv", csv_bytes(ROWS))
    saved = Path(at.session_state["data_saved_upload"][1])
    assert saved.name == "export.csv" and saved.read_bytes() == csv_bytes(ROWS)
    at.file_uploader(key="data_upload").clear().run()
    assert not at.exception
    assert not saved.exists() and not saved.parent.exists()
