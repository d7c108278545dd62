"""The service's security surface: every route × every role, escaping, limits, rate limiting.

Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

import io
import json
import re
import time
import zipfile

import pytest
from sqlmodel import func, select

from matcher.store.db import session_scope
from matcher.store.tables import Organization
from tests.support import HEADER, assert_japanese_4xx, bearer, hdr, upload


def org_count(engine):
    with session_scope(engine) as s:
        return s.exec(select(func.count()).select_from(Organization)).one()


def _xlsx(rows, dimension=None, extra_row_xml=""):
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                if dimension:
                    text = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', text)
                text = text.replace("</sheetData>", extra_row_xml + "</sheetData>")
                data = text.encode()
            z.writestr(item, data)
    return out.getvalue()


def test_oversized_upload_is_413(client, tokens, live_server):
    limit = live_server["settings"].max_upload_bytes
    big = b"a" * (limit + 10)
    r = client.post("/api/import", files={"file": ("big.csv", big, "text/csv")}, headers=hdr(tokens["coordinator"]))
    assert r.status_code == 413 and "大きすぎ" in r.text


def test_import_upload_reports_rows_like_the_cli(client, tokens):
    csv = "企業ID,企業名,従業員数\nUP1,アップロード（架空）,10\nUP2,,-1\n".encode("cp932")
    r = client.post("/api/import?kind=organizations", files={"file": ("o.csv", csv, "text/csv")},
                    headers=hdr(tokens["coordinator"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["inserted"] == 1 and {(e["row"], e["field"]) for e in out["rejected"]} == {(3, "name"), (3, "employees")}


def test_an_xlsx_claiming_a_million_rows_is_refused_without_allocating_them(desk):
    import tracemalloc

    from matcher.errors import FileError
    from matcher.exchange.ingest import parse_file

    bomb = _xlsx([HEADER.strip().split(","), ["X1", "名前（架空）"]], dimension="A1:XFD1048576",
                 extra_row_xml='<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    assert len(bomb) < 20_000
    path = desk["settings"].data_dir / "bomb.xlsx"
    path.write_bytes(bomb)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(FileError, match="too many rows"):
        parse_file(path, "organizations")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * 2**20 and time.perf_counter() - started < 30
    before = org_count(desk["engine"])
    assert_japanese_4xx(upload(desk["client"], bearer(desk["client"]), "bomb.xlsx", bomb), 422)
    assert org_count(desk["engine"]) == before


def test_an_xlsx_with_a_declared_huge_dimension_but_few_rows_still_imports(desk):
    ok = _xlsx([HEADER.strip().split(","), ["X2", "寸法だけ大きい（架空）"]], dimension="A1:XFD1048576")
    r = upload(desk["client"], bearer(desk["client"]), "dim.xlsx", ok)
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text


@pytest.mark.parametrize("name,data", [
    ("broken-sheet.xlsx", "xml"),
    ("utf16-odd.csv", (HEADER + "X1,名前\n").encode("utf-16") + b"\x00"),
    ("bom-bad.csv", b"\xef\xbb\xbf" + HEADER.encode() + b"X1,\xff\xfe\n"),
    ("nested.json", b"[" * 100_000 + b"]" * 100_000),
])
def test_unreadable_files_are_422_and_store_nothing(desk, name, data):
    if data == "xml":
        good = _xlsx([HEADER.strip().split(","), ["X1", "名前"]])
        src = zipfile.ZipFile(io.BytesIO(good))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for item in src.infolist():
                body = src.read(item.filename)
                z.writestr(item, body[: len(body) // 2] if item.filename == "xl/worksheets/sheet1.xml" else body)
        data = out.getvalue()
    before = org_count(desk["engine"])
    r = upload(desk["client"], bearer(desk["client"]), name, data)
    assert_japanese_4xx(r, 422)
    assert "/tmp" not in r.text and str(desk["settings"].data_dir) not in r.text
    assert org_count(desk["engine"]) == before


def test_absurd_numbers_are_row_errors_in_a_good_import(desk):
    csv_text = HEADER + ("N1,一（架空）,企業,日野市,1.5e400,2599,,,,,いいえ\n"
                         "N2,二（架空）,企業,日野市,10^20,2599,,,,,いいえ\n"
                         "N3,三（架空）,企業,日野市,12,2599,,,,,いいえ\n")
    r = upload(desk["client"], bearer(desk["client"]), "numbers.csv", csv_text.encode())
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["inserted"] == 1 and {(e["row"], e["field"]) for e in out["rejected"]} == {(2, "employees"), (3, "employees")}
    records = [{"企業ID": "J1", "企業名": "桁（架空）", "従業員数": "__BIG__"},
               {"企業ID": "J2", "企業名": "指数（架空）", "資本金": 10**25},
               {"企業ID": "J3", "企業名": "普通（架空）", "従業員数": 30}]
    body = json.dumps(records, ensure_ascii=False).replace('"__BIG__"', "9" * 5000).encode()
    r = upload(desk["client"], bearer(desk["client"]), "numbers.json", body)
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 1 and {e["field"] for e in r.json()["rejected"]} == {"employees", "capital"}


@pytest.mark.parametrize("filename", ["..", "a" * 300 + ".csv", "../../etc/passwd", "名前\x00.csv"])
def test_any_upload_file_name_is_safe(desk, filename):
    r = upload(desk["client"], bearer(desk["client"]), filename, (HEADER + "F1,ファイル名（架空）\n").encode())
    assert r.status_code == 200, r.text
    assert len(r.json()["file"]) <= 100 and "/" not in r.json()["file"] and "\x00" not in r.json()["file"]


def test_a_huge_profile_cell_is_a_row_error_not_minutes_of_cpu(desk):
    started = time.perf_counter()
    csv_text = HEADER + "P1,長文（架空）,企業,日野市,5,2599,,," + "切削" * 50_000 + ",,いいえ\nP2,短文（架空）\n"
    r = upload(desk["client"], bearer(desk["client"]), "long.csv", csv_text.encode())
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
    assert [e["field"] for e in r.json()["rejected"]] == ["profile"] and "長すぎます" in r.text
    assert time.perf_counter() - started < 20


def test_an_import_of_many_bad_rows_answers_briefly_and_offers_the_full_csv(desk):
    c = desk["client"]
    bad = HEADER + "".join(f"B{i},,企業\n" for i in range(300))
    r = upload(c, bearer(c), "bad.csv", bad.encode())
    out = r.json()
    assert r.status_code == 200 and out["rejected_count"] == 300 and len(out["rejected"]) == 100
    assert len(r.content) < 200_000
    assert "/" not in (out["rejects_file"] or "") and str(desk["settings"].data_dir) not in r.text
    full = c.get(out["rejects_url"], headers=bearer(c))
    assert full.status_code == 200 and full.content.decode("utf-8-sig").count("\n") == 301
    assert c.get("/api/import/reports/..%2Fsecret.key", headers=bearer(c)).status_code in (404, 422)


def test_old_import_reports_are_pruned(desk):
    from matcher.exchange.pipeline import KEEP_REPORTS

    reports = desk["settings"].data_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    for i in range(KEEP_REPORTS + 20):
        (reports / f"old-{i}.report.json").write_text("{}")
    upload(desk["client"], bearer(desk["client"]), "again.csv", (HEADER + "R1,報告（架空）\n").encode())
    assert len(list(reports.iterdir())) <= KEEP_REPORTS
