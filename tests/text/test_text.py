import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.text import hyoki_dictionary, lemmas, normalize, split_sentences

LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


INVISIBLE = ["\x00", "\x07", "\x1b", "\x7f", "\x80", "\x9b", "\x9f", "\u200b", "\u200e", "\u202e", "\u2066", "\ufeff",
             "\u00ad", "\U000e0041", "\ud800"]


def test_full_width_machining_center_variants_fold_to_one_spelling():
    for variant in ("ＭＣ", "マシニングセンター", "マシニング・センター", "ﾏｼﾆﾝｸﾞｾﾝﾀｰ", "M/C"):
        assert normalize(f"{variant}を5台保有") == "マシニングセンタを5台保有", variant


def test_sus_becomes_stainless_but_keeps_the_grade():
    assert normalize("ＳＵＳ３０４の切削") == "ステンレス304の切削"
    assert normalize("SUS材") == "ステンレス材"


def test_aluminium_short_form_expands_without_touching_the_long_form():
    assert normalize("アルミとアルミニウム") == "アルミニウムとアルミニウム"


def test_diameter_symbol_and_turning_synonyms():
    assert normalize("φ１０の旋盤加工") == "直径10の旋削"


def test_ascii_variants_only_match_whole_words():
    # "MC" inside a longer code or the material MCナイロン must stay as it is.
    assert normalize("EMC対策") == "EMC対策"
    assert normalize("MCナイロンの加工") == "MCナイロンの加工"


def test_spaces_are_collapsed_and_ideographic_space_normalised():
    assert normalize("  精密\u3000\u3000板金   加工 ") == "精密 板金 加工"


def test_dictionary_is_shipped_and_non_trivial():
    table = hyoki_dictionary()
    assert len(table) >= 40
    assert table["マシニングセンター"] == "マシニングセンタ"


def test_lemmas_keep_content_words_and_drop_particles():
    out = lemmas("ステンレスの精密部品をマシニングセンタで切削しています。")
    assert {"ステンレス", "精密", "部品", "切削"} <= set(out)
    assert "の" not in out and "を" not in out and "。" not in out
    assert "いる" not in out  # a dependent verb carries no topic


def test_lemmas_rejoin_codes_split_by_the_tokenizer():
    out = lemmas("ISO9001とJIS Q 9100を取得、A5052の加工")
    assert "iso9001" in out
    assert "a5052" in out


def test_inflected_verbs_become_their_dictionary_form():
    assert "溶接" in lemmas("アルミニウムを溶接した")
    assert "削る" in lemmas("金型を削った")


def test_loanword_lemmas_merge_spelling_variants():
    # unidic lemmatises センタ and センター to one lemma, so BM25 matches either spelling.
    assert lemmas("センタ") == lemmas("センター")


def test_sentence_split_keeps_every_character():
    text = "旋削を行う。研削も可能！熱処理は外注？\n検査は社内"
    parts = split_sentences(text)
    assert parts == ["旋削を行う。", "研削も可能！", "熱処理は外注？", "検査は社内"]


def test_every_unicode_line_break_becomes_lf_and_every_control_goes():
    from matcher.exchange.spec import clean
    from matcher.text import one_line, strip_invisible

    for br in LINE_BREAKS:
        assert strip_invisible(f"a{br}b") == "a\nb", repr(br)
        assert one_line(f"a{br}b") == "a b" and clean(f"a{br}b") == "a b", repr(br)
        assert len(one_line(f"x{br}y{br}z").splitlines()) == 1
    for ch in INVISIBLE:
        assert strip_invisible(f"日{ch}野") == "日野", repr(ch)
        assert clean(f"日{ch}野") == "日野"
    assert strip_invisible("タブ\tは残る") == "タブ\tは残る"


@settings(max_examples=300)
@given(st.text())
def test_no_text_survives_one_line_with_a_line_break_in_it(text):
    from matcher.text import one_line

    out = one_line(text)
    assert len(out.splitlines()) <= 1 and "\t" not in out
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in out)


def test_typed_ids_compare_by_one_key():
    from matcher.text import id_key

    assert {id_key(x) for x in ("HC0040", "hc0040", "ＨＣ００４０", " hc0040 ", "HC\u200b0040")} == {"HC0040"}
    assert id_key(17) == "17"
