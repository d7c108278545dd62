"""Capability taxonomy: JSIC (Rev. 14) codes shipped in ``corpora/jsic``, plus process tags."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.config import get_settings


@dataclass(frozen=True)
class JsicCode:
    level: str
    code: str
    parent: str
    name: str
    name_en: str


@lru_cache(maxsize=2)
def load_jsic(path: Path | None = None) -> dict[str, JsicCode]:
    path = path or get_settings().corpora_dir / "jsic" / "jsic_codes.csv"
    with Path(path).open(encoding="utf-8") as fh:
        return {r["code"]: JsicCode(r["level"], r["code"], r["parent"], r["name"], r["name_en"])
                for r in csv.DictReader(fh)}


def normalize_jsic_code(code: str) -> str | None:
    """A known JSIC code in canonical form, or None. Excel drops leading zeros (0911 → 911),
    so a code one digit short is retried with the zero put back."""
    codes = load_jsic()
    code = code.strip().upper()
    if code in codes:
        return code
    if code.isdigit() and len(code) in (1, 3) and code.zfill(len(code) + 1) in codes:
        return code.zfill(len(code) + 1)
    return None


def jsic_name(code: str) -> str | None:
    entry = load_jsic().get(code)
    return entry.name if entry else None


# -- process vocabulary ------------------------------------------------------------------------
# The processes coordinators ask for, each with the surface forms (after matcher.text.normalize)
# that signal it. Order matters only for display.
PROCESSES: dict[str, tuple[str, ...]] = {
    "切削": ("切削", "旋削", "フライス", "マシニングセンタ", "5軸", "穴あけ", "NC旋盤", "自動旋盤", "複合加工"),
    "研削": ("研削", "研磨", "鏡面", "歯研", "ラップ加工", "ホーニング"),
    "板金": ("板金", "曲げ加工", "レーザ加工", "タレットパンチ", "製缶"),
    "プレス": ("プレス", "打抜き", "打ち抜き", "深絞り", "順送"),
    "溶接": ("溶接", "ろう付", "TIG", "MIG"),
    "鋳造": ("鋳造", "鋳物", "ダイカスト", "ロストワックス"),
    "鍛造": ("鍛造",),
    "熱処理": ("熱処理", "焼入れ", "焼き入れ", "焼戻し", "浸炭", "窒化", "焼なまし"),
    "めっき": ("めっき", "陽極酸化", "アルマイト", "化成処理", "表面処理", "電解研磨"),
    "塗装": ("塗装", "電着", "塗工"),
    "樹脂成形": ("樹脂成形", "射出成形", "インサート成形", "二色成形", "ブロー成形", "押出成形"),
    "基板実装": ("基板実装", "表面実装", "はんだ", "リフロー", "BGA"),
    "組込みソフト": ("組込みソフト", "組込み", "ファームウェア", "マイコン", "FPGA", "回路設計"),
    "試作": ("試作", "積層造形", "3Dプリンタ", "光造形"),
    "検査": ("検査", "測定", "三次元測定", "校正", "外観検査"),
    "金型": ("金型",),
    "放電加工": ("放電加工",),
    "組立": ("組立", "組み立て", "アッセンブリ"),
    "ばね加工": ("ばね", "スプリング"),
}


def _process_surface_index() -> list[tuple[str, str]]:
    pairs = [(surface, code) for code, surfaces in PROCESSES.items() for surface in surfaces]
    return sorted(pairs, key=lambda p: -len(p[0]))


_SURFACES = _process_surface_index()


def tag_processes(text: str) -> list[str]:
    """Process codes mentioned in (normalised) text, in vocabulary order."""
    found = {code for surface, code in _SURFACES if surface in text}
    return [code for code in PROCESSES if code in found]


def process_evidence(text: str, code: str) -> list[str]:
    """The surface forms in ``text`` that made it carry process ``code`` (for explanations)."""
    return [s for s in PROCESSES.get(code, ()) if s in text]


# -- JSIC tagging --------------------------------------------------------------------------------
def manufacturing_details() -> list[JsicCode]:
    """JSIC detail codes under major category E (manufacturing, middle codes 09–32)."""
    codes = load_jsic()
    middles = {c.code for c in codes.values() if c.level == "middle" and c.parent == "E"}
    minors = {c.code for c in codes.values() if c.level == "minor" and c.parent in middles}
    return [c for c in codes.values() if c.level == "detail" and c.parent in minors]


def _code_text(code: JsicCode, description: str) -> str:
    return f"{code.name}。{description}"


class JsicTagger:
    """Free text → JSIC manufacturing detail codes, from the codes' names and descriptions only.

    The score mixes dense similarity (e5, ``query:`` phrase vs. ``passage:`` code text) with a
    character n-gram TF-IDF similarity, which catches exact product words the embedder blurs.
    It never sees labelled examples, so evaluating on them is a held-out measurement.
    """

    def __init__(self, embedder, dense_weight: float = 0.7) -> None:
        self.embedder, self.dense_weight = embedder, dense_weight

    def fit(self) -> JsicTagger:
        import csv as _csv

        from sklearn.feature_extraction.text import TfidfVectorizer

        with (get_settings().corpora_dir / "jsic" / "jsic_codes.csv").open(encoding="utf-8") as fh:
            descriptions = {r["code"]: r["description"] for r in _csv.DictReader(fh)}
        self.codes_ = manufacturing_details()
        texts = [_code_text(c, descriptions.get(c.code, "")) for c in self.codes_]
        self.vectors_ = self.embedder.encode(texts, "passage")
        self.tfidf_ = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit(texts)
        self.code_tfidf_ = self.tfidf_.transform(texts)
        return self

    def score(self, phrases: list[str]):
        import numpy as np

        from matcher.text import normalize

        phrases = [normalize(p) for p in phrases]
        dense = self.embedder.encode(phrases, "query") @ self.vectors_.T
        lexical = (self.tfidf_.transform(phrases) @ self.code_tfidf_.T).toarray()
        return self.dense_weight * dense + (1 - self.dense_weight) * np.asarray(lexical)

    def top_k(self, phrases: list[str], k: int = 5) -> list[list[str]]:
        import numpy as np

        scores = self.score(phrases)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[self.codes_[j].code for j in row] for row in order]


def name_only_baseline(phrases: list[str], k: int = 5) -> list[list[str]]:
    """The baseline: character n-gram TF-IDF against the code names alone."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    codes = manufacturing_details()
    vec = TfidfVectorizer(analyzer="char", ngram_range=(2, 3)).fit([c.name for c in codes])
    sims = (vec.transform(phrases) @ vec.transform([c.name for c in codes]).T).toarray()
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return [[codes[j].code for j in row] for row in order]


class LearnedJsicTagger:
    """JSIC codes learned from labelled example phrases, blended with the code descriptions.

    A multinomial logistic regression over e5 vectors is trained on the labelled phrases
    (``query:`` prompts) plus one sample per code, the description tagger's vector of its name and
    description (so every code is a class, with or without examples); its probabilities are blended with the description
    tagger's score (``JsicTagger``): ``score = learned_weight · p + (1 − learned_weight) ·
    description``. The weight 0.8 and C = 10 were the best top-5 of a small grid measured by
    5-fold cross-validation (README); k-NN over the examples was measured too and did less well.
    Estimator-style: ``fit`` on (phrase, code) pairs, ``score``/``top_k`` on phrases; vectors can be
    given precomputed so cross-validation embeds each phrase once.
    """

    def __init__(self, embedder, learned_weight: float = 0.8, C: float = 10.0,
                 description: JsicTagger | None = None) -> None:
        self.embedder, self.learned_weight, self.C = embedder, learned_weight, C
        self.description = description

    def fit(self, examples: list[tuple[str, str]], vectors=None) -> LearnedJsicTagger:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        from matcher.text import normalize

        self.description = self.description or JsicTagger(self.embedder).fit()
        codes = self.description.codes_
        index = {c.code: i for i, c in enumerate(codes)}
        if vectors is None:
            vectors = self.embedder.encode([normalize(p) for p, _ in examples], "query")
        keep = [i for i, (_, c) in enumerate(examples) if c in index]
        # One sample per code: the description tagger's own vector of its name and description.
        X = np.vstack([np.asarray(vectors)[keep], self.description.vectors_])
        y = np.array([index[examples[i][1]] for i in keep] + list(range(len(codes))))
        self.model_ = LogisticRegression(C=self.C, max_iter=300).fit(X, y)
        return self

    def score(self, phrases: list[str], vectors=None):
        import numpy as np

        from matcher.text import normalize

        if vectors is None:
            vectors = self.embedder.encode([normalize(p) for p in phrases], "query")
        proba = np.zeros((len(phrases), len(self.description.codes_)))
        proba[:, self.model_.classes_] = self.model_.predict_proba(np.asarray(vectors))
        return self.learned_weight * proba + (1 - self.learned_weight) * self.description.score(phrases)

    def top_k(self, phrases: list[str], k: int = 5, vectors=None) -> list[list[tuple[str, float]]]:
        import numpy as np

        scores = self.score(phrases, vectors)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[(self.description.codes_[j].code, float(scores[r, j])) for j in row] for r, row in enumerate(order)]


def load_examples(path: Path | None = None) -> list[tuple[str, str]]:
    """The labelled JSIC phrases shipped in ``corpora/jsic`` (phrase → detail code)."""
    path = path or get_settings().corpora_dir / "jsic" / "examples_mfg_train.tsv"
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and parts[0] != "phrase":
                out.append((parts[0], parts[1]))
    return out
