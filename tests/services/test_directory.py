"""The public technology directory: published organisations only, ranked by relevance."""

from matcher.exchange.catalog import import_file
from matcher.services.directory import directory_search

ORGS = """企業ID,企業名,種別,所在地,従業員数,加工・技術,技術紹介,公開
B1,あおば商事（架空）,バイヤー,日野市,40,,溶接部品を調達しています。,はい
W1,わかば溶接（架空）,企業,日野市,12,溶接;板金,溶接一筋。ステンレスの TIG 溶接、アルミ溶接、溶接後の歪み取りまで。,はい
W2,いずみ板金（架空）,企業,八王子市,30,板金;溶接,板金加工と溶接。ステンレス筐体。,はい
H1,ひみつ溶接（架空）,企業,日野市,5,溶接,溶接の専門工場。,いいえ
"""


def _store(engine, tmp_path):
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    assert not import_file(engine, tmp_path / "orgs.csv", "organizations").rejected
    return engine


def test_results_are_ranked_by_relevance_then_name_and_never_show_unpublished(engine, tmp_path):
    _store(engine, tmp_path)
    found = directory_search(engine, q="溶接")
    assert [o.external_id for o in found.items] == ["W1", "W2", "B1"] and found.total == 3  # a buyer is not first
    assert [o.external_id for o in directory_search(engine).items] == ["B1", "W2", "W1"]  # no words: by name


def test_hiragana_reads_as_katakana_and_every_filter_is_kept(engine, tmp_path):
    _store(engine, tmp_path)
    assert {o.external_id for o in directory_search(engine, q="すてんれす").items} == {"W1", "W2"}
    assert [o.external_id for o in directory_search(engine, q="すてんれす", process="溶接", city="八王子市").items] == ["W2"]


def test_every_word_must_occur_somewhere_in_the_organisation(engine, tmp_path):
    _store(engine, tmp_path)
    both = directory_search(engine, q="溶接 ステンレス筐体")  # one word in processes, the other in the profile
    assert [o.external_id for o in both.items] == ["W2"] and both.total == 1
    assert directory_search(engine, q="溶接 チタン").total == 0
    assert {o.external_id for o in directory_search(engine, q="溶接 板金 日野市").items} == set()  # city is a filter
    assert [o.external_id for o in directory_search(engine, q="溶接 板金", city="八王子市").items] == ["W2"]


def test_a_word_too_common_to_count_says_so_and_another_word_narrows_it(engine, tmp_path, monkeypatch):
    """Above the ranking cap PostgreSQL's count is 「N 件以上」 and the ranked set is the first N
    found; a rarer second word then drives the match and the count is exact again."""
    from matcher.services import directory

    _store(engine, tmp_path)
    (tmp_path / "more.csv").write_text("企業ID,企業名,種別,所在地,加工・技術,公開\n" + "".join(
        f"F{i},フィラー{i}工業（架空）,企業,町田市,溶接,はい\n" for i in range(30)), encoding="utf-8")
    assert not import_file(engine, tmp_path / "more.csv", "organizations").rejected
    monkeypatch.setattr(directory, "MAX_RANKED", 2)
    common = directory_search(engine, q="溶接")  # 33 published firms hold it
    if engine.dialect.name == "postgresql":  # index scans under a LIMIT: the count stops at the cap
        assert common.more and common.total == 2 and len(common.items) == 2 and common.pages == 1
    else:  # SQLite scans the table whatever it does, and counts exactly in the same pass
        assert not common.more and common.total == 33 and len(common.items) == 2
    narrowed = directory_search(engine, q="溶接 歪み")  # 歪み is W1's alone: it drives, the count is exact
    assert not narrowed.more and narrowed.total == 1 and [o.external_id for o in narrowed.items] == ["W1"]
    assert not directory_search(engine, q="歪み").more
    assert directory_search(engine, q="溶接 チタン").total == 0


def test_two_common_words_found_together_reach_the_cap_and_apart_are_counted_exactly(engine, tmp_path, monkeypatch):
    """Both words above the cap: firms holding both in one place (two process tags) fill the
    ranked set without a visit to each firm holding one; when few hold both, and only in
    different places (a tag and the name), every one of them is still found and counted."""
    from matcher.services import directory

    _store(engine, tmp_path)
    (tmp_path / "more.csv").write_text("企業ID,企業名,種別,所在地,加工・技術,公開\n" + "".join(
        f"F{i},フィラー{i}工業（架空）,企業,町田市,溶接;板金,はい\n" for i in range(30)) + "".join(
        f"N{i},ナット{i}製作所（架空）,企業,町田市,{'溶接' if i == 0 else '塗装'},はい\n" for i in range(5)),
        encoding="utf-8")
    assert not import_file(engine, tmp_path / "more.csv", "organizations").rejected
    monkeypatch.setattr(directory, "MAX_RANKED", 3)
    together = directory_search(engine, q="溶接 板金")  # 32 published firms hold both, 30 in processes
    if engine.dialect.name == "postgresql":
        assert together.more and together.total == 3 and len(together.items) == 3
    else:
        assert not together.more and together.total == 32
    held = {o.external_id for o in together.items}
    assert all(directory_search(engine, q=f"{e} 溶接 板金").total == 1 for e in held)  # each holds both
    apart = directory_search(engine, q="溶接 ナット")  # 5 hold ナット (names), 36 溶接: only N0 holds both
    assert not apart.more and apart.total == 1 and [o.external_id for o in apart.items] == ["N0"]
    assert directory_search(engine, q="板金 ナット").total == 0


def test_the_staff_list_counts_a_common_word_up_to_the_cap_and_still_pages_in_id_order(engine, tmp_path, monkeypatch):
    from matcher.services import directory
    from matcher.services.directory import search_organizations

    _store(engine, tmp_path)
    (tmp_path / "more.csv").write_text("企業ID,企業名,種別,所在地,加工・技術,公開\n" + "".join(
        f"F{i:02d},フィラー{i}工業（架空）,企業,町田市,溶接,いいえ\n" for i in range(30)), encoding="utf-8")
    assert not import_file(engine, tmp_path / "more.csv", "organizations").rejected
    monkeypatch.setattr(directory, "MAX_COUNTED", 5)
    # staff see unpublished firms too; the list reads columns, not profiles (B1's 溶接 is in its profile)
    everyone = [*(f"F{i:02d}" for i in range(30)), "H1", "W1", "W2"]
    first, second = search_organizations(engine, "溶接", limit=4), search_organizations(engine, "溶接", limit=4, offset=4)
    assert [o.external_id for o in first.items + second.items] == everyone[:8]
    last = search_organizations(engine, "溶接", limit=4, offset=31)
    assert [o.external_id for o in last.items] == everyone[31:]
    if engine.dialect.name == "postgresql":  # counted up to the cap: 「5 件以上」
        assert first.more and first.total == 5
    else:
        assert not first.more and first.total == 33
    rare = search_organizations(engine, "板金")  # below the cap: exact on both engines
    assert not rare.more and rare.total == 2 and [o.external_id for o in rare.items] == ["W1", "W2"]
