"""Forum events in the store: participant import, seating from the scored graph, re-seating after
cancellations, the printed chart, the CLI and the desk page."""

from __future__ import annotations

from openpyxl import Workbook
from sqlmodel import select

from matcher.services import forum
from matcher.store.db import session_scope
from matcher.store.tables import Organization


def test_participant_import_reads_cp932_and_excel_and_names_bad_rows(engine, tmp_path):
    from matcher.exchange.catalog import import_file

    orgs = tmp_path / "orgs.csv"
    orgs.write_text("企業ID,企業名,種別\n" + "".join(f"F{i},フォーラム{i}工業（架空）,企業\n" for i in range(4)),
                    encoding="utf-8")
    import_file(engine, orgs, "organizations")
    with session_scope(engine) as s:
        ids = [o.external_id for o in s.exec(select(Organization).order_by(Organization.id))][:4]
    csv_text = ("氏名,企業ID,参加区分,会いたい相手,同席不可,ホスト卓\n"
                f"山田 太郎,{ids[0]},企業,{ids[1]},,\n"
                f"佐藤 花子,{ids[1]},,,{ids[0]},1\n"
                f"幽霊 一郎,NOPE,企業,,,\n"
                f"鈴木 次郎,{ids[2]},宇宙人,,,\n"
                f"高橋 三郎,{ids[3]},,,,ゼロ\n"
                f"山田 太郎,{ids[0]},企業,,,\n")
    path = tmp_path / "参加者.csv"
    path.write_bytes(csv_text.encode("cp932"))
    report = forum.import_participants(engine, path, "テストフォーラム")
    assert (report.inserted, report.updated) == (2, 0)
    bad = {(e.row, e.field) for e in report.errors}
    assert bad == {(4, "org_external_id"), (5, "kind"), (6, "host_table"), (7, "person")}
    assert all(e.file.endswith("参加者.csv") and e.message_ja for e in report.errors)
    people = forum.participants(engine, report.event_id)
    hanako = next(p for p in people if p.person == "佐藤 花子")
    assert hanako.host_table == 1 and hanako.avoid and hanako.kind  # kind taken from the organisation
    # Excel, same event: the same person is updated, not duplicated; nothing stored is lost.
    wb = Workbook()
    wb.active.append(["参加者名", "企業ID", "面談希望"])
    wb.active.append(["山田 太郎", ids[0], ids[2]])
    wb.active.append(["田中 四郎", ids[2], ""])
    xlsx = tmp_path / "roster.xlsx"
    wb.save(xlsx)
    again = forum.import_participants(engine, xlsx, "テストフォーラム")
    assert (again.inserted, again.updated, again.rejected) == (1, 1, [])
    assert len(forum.participants(engine, report.event_id)) == 3
