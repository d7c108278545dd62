from openpyxl import load_workbook

from matcher.exchange.catalog import import_file
from matcher.exchange.export import export
from matcher.store.db import get_engine, upgrade
from tests.support import FIXTURES


def _engine(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'e.sqlite'}")
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    return engine


def test_xlsx_has_japanese_headers_and_every_organisation(tmp_path):
    result = export(_engine(tmp_path), tmp_path / "out.xlsx", "xlsx")
    wb = load_workbook(result.files[0])
    assert wb.sheetnames == ["企業", "案件", "提案"]
    rows = list(wb["企業"].iter_rows(values_only=True))
    assert rows[0][:3] == ("企業ID", "企業名", "種別") and len(rows) == 4
    assert rows[1][2] == "企業"


def test_csv_is_utf8_with_bom_for_excel(tmp_path):
    result = export(_engine(tmp_path), tmp_path / "csv", "csv")
    data = (tmp_path / "csv" / "organizations.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "企業名".encode() in data
    assert result.rows["organizations"] == 3


def test_an_unedited_export_reimports_as_unchanged(tmp_path):
    engine = _engine(tmp_path)
    export(engine, tmp_path / "out.xlsx", "xlsx")
    again = import_file(engine, tmp_path / "out.xlsx", "organizations", sheet="企業")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])
