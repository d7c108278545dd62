"""Reading and validating files (no database): encodings, formats, every bad-row kind."""

import json

import pytest

from matcher.errors import FileError
from matcher.exchange.ingest import guess_kind, parse_file
from tests.support import FIXTURES

HEADER = "企業ID,企業名,種別,所在地,従業員数,業種コード,加工・技術,認証,技術紹介,メール,メール配信\n"


GOOD = "A1,日野テスト精密（架空）,企業,日野市,30,2599,切削;研削,ISO9001,アルミの精密切削,a@example.jp,はい\n"


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


BAD_ROWS = {
    "name": "A1,,企業,日野市,5,2599,,,,,いいえ\n",
    "kind": "A1,X社,工場,日野市,5,2599,,,,,いいえ\n",
    "employees": "A1,X社,企業,日野市,-3,2599,,,,,いいえ\n",
    "jsic": "A1,X社,企業,日野市,5,9998,,,,,いいえ\n",
    "email": "A1,X社,企業,日野市,5,2599,,,,not-an-email,いいえ\n",
    "email_opt_in": "A1,X社,企業,日野市,5,2599,,,,a@example.jp,たぶん\n",
}


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp932", "cp932"),
                                               ("utf-16", "utf-16")])
def test_each_encoding_is_detected_from_the_bytes(tmp_path, encoding, expected):
    # The extension says nothing: a CP932 file named .txt must still read.
    p = write(tmp_path, "orgs.txt", HEADER + GOOD, encoding)
    parsed = parse_file(p, "organizations")
    assert parsed.encoding == expected
    assert not parsed.errors
    assert parsed.records[0].data["name"] == "日野テスト精密(架空)"


def test_cp932_specific_characters_survive(tmp_path):
    text = HEADER + "A1,髙橋製作所①（架空）,企業,日野市,30,2599,切削,,～±0.01mm,,いいえ\n"
    parsed = parse_file(write(tmp_path, "o.csv", text, "cp932"), "organizations")
    assert parsed.encoding == "cp932"
    assert parsed.records[0].data["name"].startswith("髙橋製作所1")


def test_xlsx_first_sheet_and_named_sheet(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "メモ"
    ws.append(["これはメモです"])
    ws2 = wb.create_sheet("企業一覧")
    for line in (HEADER + GOOD).strip().split("\n"):
        ws2.append(line.split(","))
    ws2["E2"] = 30  # a real number cell
    ws2["F2"] = 2599
    p = tmp_path / "book.xlsx"
    wb.save(p)
    with pytest.raises(FileError, match="required column"):
        parse_file(p, "organizations")  # the first sheet is the memo
    parsed = parse_file(p, "organizations", sheet="企業一覧")
    assert parsed.format == "xlsx" and parsed.records[0].data["employees"] == 30
    assert parsed.records[0].data["jsic"] == ["2599"]


def test_json_and_jsonl(tmp_path):
    rec = {"project_id": "19H00001", "title": "切削の研究", "keywords": ["切削", "工具"], "url": "https://kaken.nii.ac.jp/x"}
    pj = write(tmp_path, "s.json", json.dumps([rec], ensure_ascii=False))
    pl = write(tmp_path, "s.jsonl", json.dumps(rec, ensure_ascii=False) + "\n")
    for p in (pj, pl):
        parsed = parse_file(p, "seeds")
        assert parsed.records[0].data["keywords"] == ["切削", "工具"]


def test_full_width_digits_yes_no_lists_and_spaces_are_normalised(tmp_path):
    row = "\u3000Ａ１ ,日野　テスト（架空）,企業, 日野市 ,１２０人,２５９９,旋盤加工・研削、めっき,ISO 9001;ISO14001, 説明 ,ｉｎｆｏ＠ｅｘａｍｐｌｅ．ｊｐ,はい\n"
    parsed = parse_file(write(tmp_path, "o.csv", HEADER + row), "organizations")
    assert not parsed.errors, parsed.errors
    d = parsed.records[0].data
    assert d["external_id"] == "A1" and d["name"] == "日野 テスト(架空)" and d["city"] == "日野市"
    assert d["employees"] == 120 and d["jsic"] == ["2599"]
    assert d["processes"] == ["旋削", "研削", "めっき"]
    assert d["certifications"] == ["ISO9001", "ISO14001"]
    assert d["email"] == "info@example.jp" and d["email_opt_in"] is True


def test_excel_dropped_leading_zero_is_restored(tmp_path):
    row = "A1,食品工場（架空）,企業,日野市,5,913,,,,,いいえ\n"
    parsed = parse_file(write(tmp_path, "o.csv", HEADER + row), "organizations")
    assert parsed.records[0].data["jsic"] == ["0913"]


@pytest.mark.parametrize("field", sorted(BAD_ROWS))
def test_each_bad_row_kind_names_file_row_and_field(tmp_path, field):
    p = write(tmp_path, "bad.csv", HEADER + GOOD.replace("A1", "A0") + BAD_ROWS[field])
    parsed = parse_file(p, "organizations")
    assert len(parsed.records) == 1  # the good row survives
    [err] = [e for e in parsed.errors if e.field == field]
    assert err.file == str(p) and err.row == 3
    assert err.message_ja and err.message_en and err.message_ja != err.message_en


def test_non_numeric_employees(tmp_path):
    parsed = parse_file(write(tmp_path, "b.csv", HEADER + "A1,X社,企業,日野市,多数,2599,,,,,いいえ\n"), "organizations")
    assert parsed.errors[0].field == "employees" and "数値" in parsed.errors[0].message_ja


def test_duplicate_key_inside_the_file(tmp_path):
    parsed = parse_file(write(tmp_path, "d.csv", HEADER + GOOD + GOOD), "organizations")
    [err] = parsed.errors
    assert err.row == 3 and err.field == "external_id" and "row 2" in err.message_en


def test_need_for_an_unknown_organisation(tmp_path):
    text = "案件ID,企業ID,件名,内容,必要工程\nN1,NOPE,切削の依頼,アルミの切削,切削\nN2,A1,研削,焼入れ後の研削,研削\n"
    parsed = parse_file(write(tmp_path, "n.csv", text), "needs", context={"known_orgs": {"A1"}})
    assert [e.field for e in parsed.errors] == ["org_external_id"]
    assert parsed.errors[0].row == 2 and len(parsed.records) == 1


@pytest.mark.parametrize("payload,match", [
    (b"", "empty"),
    (b"\xef\xbb\xbf\r\n", "empty"),
    (b"\x00\x01\x02binary\x00" * 50, "binary"),
    ((HEADER + "A1,日野テスト").encode("utf-8")[:-2], "truncated"),
    ((HEADER + 'A1,"unterminated,企業\n').encode("utf-8"), "malformed CSV"),
    (b"PK\x03\x04 not really a zip", "damaged or truncated"),
    (b"\xd0\xcf\x11\xe0legacy", "legacy .xls"),
    (b'[{"title": "x"', "invalid JSON"),
    ("名前,住所\nA,B\n".encode(), "required column"),
])
def test_unreadable_files_get_one_clear_file_level_error(tmp_path, payload, match):
    p = tmp_path / "f.csv"
    p.write_bytes(payload)
    with pytest.raises(FileError, match=match) as info:
        parse_file(p, "organizations")
    assert info.value.message_ja and str(p) in str(info.value)


def test_kind_is_guessed_from_the_header(tmp_path):
    assert guess_kind(FIXTURES / "orgs_small.csv") == "organizations"
    needs = write(tmp_path, "n.csv", "案件ID,企業ID,件名,内容,必要工程\nN1,A1,件名,内容,切削\n")
    assert guess_kind(needs) == "needs"
    seeds = write(tmp_path, "s.csv", "シーズID,研究題目,キーワード\nS1,題目,切削\n")
    assert guess_kind(seeds) == "seeds"
