from matcher.graph.features import FEATURES, certs_wanted, distance_class, edge_features
from matcher.graph.model import History, Party
from matcher.search.retrieve import Hit


def test_distance_classes_around_hino():
    assert distance_class("日野市", "日野市") == "same_city"
    assert distance_class("日野市", "八王子市") == "neighbour"
    assert distance_class("日野市", "町田市") == "tama"
    assert distance_class("日野市", "川崎市") == "elsewhere"
    assert distance_class(None, "立川市") == "neighbour"  # unknown requester: measured from Hino


def test_certifications_wanted_are_read_from_the_need():
    assert certs_wanted("JIS Q 9100 必須、ISO9001 尚可") == {"JISQ9100", "ISO9001"}


def test_edge_features_are_named_complete_and_monotone():
    need = Party(type="need", id=1, text="ISO9001 取得企業に切削と研削を依頼", org_id=5, city="日野市",
                 required=("切削", "研削", "熱処理"))
    good = Party(type="organization", id=7, city="日野市", employees=50, certifications=("ISO9001",), processes=("切削", "研削"))
    weak = Party(type="organization", id=8, city="川崎市", employees=None, processes=("塗装",))
    hit = Hit(owner_id=7, rrf=0.03, dense_max=0.85, dense_mean=0.8, bm25_max=4.0, dense_rank=1, bm25_rank=2)
    hist = History(pair_rejects={(5, 8): 2})
    f_good = edge_features(need, good, hit, hist, bm25_top=8.0)
    f_weak = edge_features(need, weak, hit, hist, bm25_top=8.0)
    assert tuple(f_good) == FEATURES
    assert f_good["coverage"] == round(2 / 3, 6) and f_weak["coverage"] == 0
    assert f_good["same_city"] == 1 and f_weak["elsewhere"] == 1
    assert f_good["iso9001"] == f_good["cert_match"] == 1
    assert f_good["bm25_norm"] == 0.5 and f_weak["pair_rejects"] == 2
