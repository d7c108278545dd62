from matcher.text import normalize
from matcher.text.taxonomy import manufacturing_details, normalize_jsic_code, tag_processes


def test_process_tags_from_real_phrases():
    assert tag_processes(normalize("ＭＣによる５軸加工と円筒研削、焼入れ後の歯研")) == ["切削", "研削", "熱処理"]
    assert tag_processes(normalize("アルマイト処理と粉体塗装")) == ["めっき", "塗装"]
    assert tag_processes(normalize("BGA実装とリフロー、X線検査")) == ["基板実装", "検査"]
    assert tag_processes(normalize("金属3Dプリンタによる試作")) == ["試作"]
    assert tag_processes("営業と経理") == []


def test_manufacturing_details_are_all_under_major_e():
    codes = manufacturing_details()
    assert len(codes) > 500
    assert all(c.code[:2] in {f"{i:02d}" for i in range(9, 33)} for c in codes)


def test_jsic_code_normalisation():
    assert normalize_jsic_code("2599") == "2599"
    assert normalize_jsic_code("913") == "0913"
    assert normalize_jsic_code("0000") is None
