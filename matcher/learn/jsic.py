"""Free text → JSIC (Rev. 14) manufacturing detail codes: a description tagger built from the
codes' names and descriptions, and one learned from labelled example phrases. Both are given
their embedder and the JSIC folder explicitly (no settings are read here)."""

from __future__ import annotations

from pathlib import Path

from matcher.config import shipped_corpora
from matcher.text.taxonomy import JsicCode, manufacturing_details


def jsic_dir() -> Path:
    return shipped_corpora() / "jsic"


def _code_text(code: JsicCode, description: str) -> str:
    return f"{code.name}。{description}"


class JsicTagger:
    """Free text → JSIC manufacturing detail codes, from the codes' names and descriptions only.

    The score mixes dense similarity (e5, ``query:`` phrase vs. ``passage:`` code text) with a
    character n-gram TF-IDF similarity, which catches exact product words the embedder blurs.
    It never sees labelled examples, so evaluating on them is a held-out measurement.
    """

    def __init__(self, embedder, dense_weight: float = 0.7, jsic: Path | None = None) -> None:
        self.embedder, self.dense_weight, self.jsic = embedder, dense_weight, jsic or jsic_dir()

    def fit(self) -> JsicTagger:
        import csv as _csv

        from sklearn.feature_extraction.text import TfidfVectorizer

        with (self.jsic / "jsic_codes.csv").open(encoding="utf-8") as fh:
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
    path = path or jsic_dir() / "examples_mfg_train.tsv"
    out = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and parts[0] != "phrase":
                out.append((parts[0], parts[1]))
    return out
