"""Words quoted to a reader: whole compounds, the rarest shared ones, never a corpus's template."""

from matcher.text.terms import MIN_OWNERS, TermStats, compounds, missing_terms, nouns, shared_terms


def test_compounds_are_whole_words_and_counts_are_not_words():
    assert compounds("天井クレーンとクリーンルーム、中小製造業の地域連携") == ("天井クレーン", "クリーンルーム", "中小製造業", "地域連携")
    assert compounds("5軸マシニングセンタと3Dプリンタ、SS400の製缶") == ("5軸マシニングセンタ", "3Dプリンタ", "SS400", "製缶")
    assert compounds("1985年に創業、従業員30名、年間500台") == ("創業", "従業員", "年間")


def test_template_words_are_never_shared_terms_and_rare_ones_come_first():
    template = "1990年に日野市で創業した会社です。{}を中心に受注しています。"
    others = ["研削", "溶接", "板金", "塗装", "鍛造", "鋳造", "研磨", "熱処理", "めっき", "組立", "検査", "設計",
              "成形", "印刷", "洗浄", "梱包", "試作"]
    corpus = [template.format(w) for w in ["切削"] * 2 + ["チタン"] + others]
    assert len(corpus) >= MIN_OWNERS
    stats = TermStats.of(corpus)
    query = "日野市で創業した会社に、チタンの切削を中心にお願いしたい"
    cand = template.format("チタンの切削")
    assert {"日野", "創業", "中心"} <= set(shared_terms(query, cand, limit=10))  # without stats: the template too
    assert shared_terms(query, cand, stats=stats) == ["チタン", "切削"]  # チタン is rarer than 切削
    assert stats.boilerplate("創業") and not stats.boilerplate("チタン")


def test_a_small_corpus_has_no_template_to_leave_out():
    stats = TermStats.of(["チタンの切削"] * 3)
    assert not stats.boilerplate("チタン") and shared_terms("チタンの切削", "チタンの切削", stats=stats)


def test_missing_terms_are_the_querys_nouns_the_candidate_never_uses():
    assert missing_terms("チタンの切削とチタンの研削、検査", "ステンレスの切削") == ["チタン", "研削", "検査"]


def test_a_shared_term_is_a_whole_noun_of_the_candidate_in_any_of_its_sentences():
    cand = "当社は精密板金が専門です。\n半導体装置のフレームを溶接します。最後の文にチタン"
    assert shared_terms("導体とチタンの溶接", cand, limit=10) == ["チタン", "溶接"]  # 導体 is part of 半導体
    assert shared_terms("半導体の板金", cand, limit=10) == ["半導体", "板金"]
    assert shared_terms("アルミの鋳造", cand) == []
    whole = set(nouns(cand))  # the sentences tokenised alone give the nouns the whole text gives
    assert all(t in whole for t in shared_terms("精密板金と半導体装置のフレーム、チタンの溶接", cand, limit=10))
