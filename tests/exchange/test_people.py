"""人材: the person registry's import (encodings, Excel, row errors, consent) and the demo roster."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.exchange.ingest import guess_kind
from matcher.store.db import session_scope
from matcher.store.tables import Need, Person, split_list
from matcher.text.taxonomy import tag_processes

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["人材ID", "氏名", "区分", "所属・経歴", "専門分野（;区切り）", "紹介文", "対応可能時間（時間/月）", "対応形態",
          "所在地", "言語", "メール", "本人同意", "公開"]
GOOD = [
    ["HP1", "山田 太郎（架空）", "シニア・OB", "元 電機メーカー 生産技術部長", "切削;品質管理", "切削条件の最適化を指導します。",
     "20時間", "訪問", "日野市", "日本語", "yamada@example.jp", "はい", "はい"],
    ["HP2", "髙橋 花子（架空）", "留学生", "工科大学 修士課程", "機械学習、画像検査", "画像検査を研究しています。",
     "１０", "オンライン", "八王子市", "中国語;日本語", "", "いいえ", ""],
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def people(engine) -> dict[str, Person]:
    with session_scope(engine) as s:
        return {p.external_id: p for p in s.exec(select(Person))}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_people_import_from_each_csv_encoding(engine, tmp_path, encoding):
    report = import_file(engine, write_csv(tmp_path / "p.csv", GOOD, encoding), "people")
    assert (report.inserted, report.rejected) == (2, [])
    got = people(engine)
    senior, student = got["HP1"], got["HP2"]
    assert (senior.category, senior.hours_per_month, senior.contact_mode, senior.consent, senior.publish) == (
        "senior", 20, "visit", True, True)
    assert split_list(senior.specialities) == ["切削", "品質管理"]
    assert student.name == "髙橋 花子(架空)"  # a CP932 extension character survives (NFKC as every name)
    assert (student.category, student.hours_per_month, student.contact_mode) == ("international", 10, "online")
    assert split_list(student.specialities) == ["機械学習", "画像検査"] and split_list(student.languages) == ["中国語", "日本語"]
    assert (student.consent, student.publish, student.email) == (False, False, None)


def test_people_import_from_excel(engine, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(HEADER)
    wb.active.append([*GOOD[0][:6], 16, *GOOD[0][7:]])  # a number cell for the hours
    path = tmp_path / "people.xlsx"
    wb.save(path)
    report = import_file(engine, path, "people")
    assert report.inserted == 1 and people(engine)["HP1"].hours_per_month == 16


def test_without_consent_or_publish_a_person_is_stored_but_flagged_off(engine, tmp_path):
    row = [*GOOD[0][:11], "", ""]
    import_file(engine, write_csv(tmp_path / "p.csv", [row]), "people")
    p = people(engine)["HP1"]
    assert p.consent is False and p.publish is False  # silence is not consent


def test_bad_rows_name_row_and_field_and_lose_nothing_stored(engine, tmp_path):
    import_file(engine, write_csv(tmp_path / "first.csv", GOOD), "people")
    bad = [
        ["HP3", "", "学生", "", "", "", "", "", "", "", "", "はい", ""],
        ["HP4", "佐藤（架空）", "宇宙人", "", "", "", "999", "徒歩", "", "", "bad@", "たぶん", ""],
        ["HP5", "鈴木（架空）", "現役・副業", "", "溶接", "", "", "", "", "", "", "はい", ""],
    ]
    report = import_file(engine, write_csv(tmp_path / "second.csv", bad), "people")
    errors = {(e.row, e.field) for e in report.errors}
    assert errors == {(2, "name"), (3, "category"), (3, "hours_per_month"), (3, "contact_mode"), (3, "email"),
                      (3, "consent")}
    assert all(e.message_ja for e in report.errors)
    assert set(people(engine)) == {"HP1", "HP2", "HP5"}
    assert people(engine)["HP5"].contact_mode == "both"  # 対応形態 left empty: either


def test_reimport_is_unchanged_and_an_edit_updates_the_person(engine, tmp_path):
    path = write_csv(tmp_path / "p.csv", GOOD)
    import_file(engine, path, "people")
    again = import_file(engine, path, "people")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    edited = [[*GOOD[0][:6], "30", *GOOD[0][7:]], GOOD[1]]
    report = import_file(engine, write_csv(tmp_path / "p2.csv", edited), "people")
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    assert people(engine)["HP1"].hours_per_month == 30


def test_the_header_tells_a_people_file_from_the_others(tmp_path):
    assert guess_kind(write_csv(tmp_path / "p.csv", GOOD)) == "people"
    assert guess_kind(ROOT / "corpora" / "demo" / "organizations.csv") == "organizations"
    assert guess_kind(ROOT / "corpora" / "demo" / "people.csv") == "people"


def test_the_demo_roster_is_fictional_and_covers_every_demo_need(engine):
    import_file(engine, ROOT / "corpora" / "demo" / "organizations.csv", "organizations")
    import_file(engine, ROOT / "corpora" / "demo" / "needs.csv", "needs")
    report = import_file(engine, ROOT / "corpora" / "demo" / "people.csv", "people")
    assert report.rejected == [] and 50 <= report.inserted <= 80
    roster = list(people(engine).values())
    assert all(p.fictional and p.name.endswith("(架空)") and p.email.endswith("@example.jp") for p in roster)
    assert {p.category for p in roster} == {"senior", "active", "student", "international"}
    assert any(not p.consent for p in roster)  # the demo shows someone who is never suggested
    covered = {code for p in roster if p.consent for s in split_list(p.specialities) for code in tag_processes(s)}
    with session_scope(engine) as s:
        needs = s.exec(select(Need)).all()
    required = {n.external_id: {code for r in split_list(n.required_processes) for code in tag_processes(r)}
                for n in needs}
    assert len(needs) >= 30 and all(required.values())
    for need, codes in required.items():
        assert codes <= covered, (need, codes - covered)


def test_cli_ingest_people_reports_row_errors_as_json(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "p.csv", [GOOD[0], ["HP9", "", "学生", "", "", "", "", "", "", "", "", "", ""]])
    env = {"MATCHER_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([str(Path(sys.executable).parent / "matcher"), "ingest", str(path), "--kind", "people",
                           "--no-index", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    assert (out["kind"], out["inserted"], out["rejected_count"]) == ("people", 1, 1)
    assert (out["rejected"][0]["row"], out["rejected"][0]["field"]) == (3, "name")
