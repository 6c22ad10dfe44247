"""The lexical theme model without scikit-learn at inference: its TF-IDF features and probabilities against
scikit-learn's, its JSON + safetensors files, and models saved as a joblib pickle (the shipped one among them)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nps_nlp._lexical import LexicalThemeModel
from nps_nlp._lexical_legacy import _restricted_load, read_joblib_model
from nps_nlp._tfidf import NgramTfidf, Sparse

ROOT = Path(__file__).resolve().parents[1]
LEGACY = ROOT / "models" / "default" / "lexical.joblib"

TEXTS = [
    "Great friendly staff", "rude staff, RUDE!", "the invoice was wrong", "charged twice on my bill",
    "cheap and great value", "very expensive", "vriendelijk personeel", "factuur was fout", "veldig dyrt",
    "hyggelig ansatte", "ok", "was fine", "Ærlig talt  \t dårlig\n\nservice", "prijs/kwaliteit: top!!",
    "app crasht steeds", "eg er ikkje nøgd med rekninga", "levering was snel en goed", "internet down again",
]
# what the fitted vectorizers meet at inference: unseen words, empty and blank answers, odd spacing and case
PROBES = TEXTS + ["", "   ", "a", "!!", "STAFF staff Staff", "\u00a0non\u2003breaking\u00a0 spaces", "x" * 40,
                  "great staff but the invoice was wrong again", "ÉÉÉ café naïve", "tab\tand\nnewline  runs"]
OPTIONS = [
    {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2, "sublinear_tf": True},  # the model's two
    {"ngram_range": (1, 2), "sublinear_tf": True},
    {"analyzer": "char", "ngram_range": (1, 3)},
    {"analyzer": "char_wb", "ngram_range": (1, 1), "lowercase": False},
    {"ngram_range": (2, 3), "binary": True, "norm": None, "use_idf": False},
    {"token_pattern": r"(?u)\b(\w+)\b", "smooth_idf": False},
]


def _sklearn_proba(state, texts):
    """What the lexical model computed with scikit-learn: each theme's ``predict_proba`` on the stacked
    features, the constant probability of a single-class theme."""
    from scipy.sparse import hstack

    features = hstack([state["char_"].transform(texts), state["word_"].transform(texts)]).tocsr()
    return np.stack([np.full(len(texts), m) if isinstance(m, float) else m.predict_proba(features)[:, 1]
                     for m in state["models_"]], 1).astype(np.float32)


def _sklearn_state(texts, targets):
    """A fitted old-style model's attributes, built with scikit-learn as the lexical model fits."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    features = hstack([char.fit_transform(texts), word.fit_transform(texts)]).tocsr()
    models = [float(y.mean()) if y.all() or not y.any() else
              LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced", random_state=0).fit(features, y)
              for y in (targets > 0.5).T]
    return {"C": 10.0, "random_state": 0, "char_": char, "word_": word, "models_": models}


@pytest.fixture(scope="module")
def targets():
    rng = np.random.default_rng(0)
    out = (rng.random((len(TEXTS), 4)) < 0.4).astype(float)
    out[:, 3] = 0.0  # a theme with one class only
    return out


@pytest.mark.parametrize("options", OPTIONS)
def test_tfidf_features_are_scikit_learns_bit_for_bit(options):
    from sklearn.feature_extraction.text import TfidfVectorizer

    fitted = TfidfVectorizer(**options).fit(TEXTS)
    expected = fitted.transform(PROBES).tocsr()
    plain = NgramTfidf.from_sklearn(fitted)
    got = plain.transform(PROBES)
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)  # the same floats, not merely close ones
    assert [plain.analyze(t) for t in PROBES] == [fitted.build_analyzer()(t) for t in PROBES]
    again = NgramTfidf.from_options(json.loads(json.dumps(plain.options())), plain.idf)
    assert np.array_equal(again.transform(PROBES).data, expected.data)


def test_options_it_does_not_reproduce_are_refused():
    from sklearn.feature_extraction.text import TfidfVectorizer

    for options in ({"strip_accents": "unicode"}, {"stop_words": ["the"]}, {"norm": "l1"}):
        with pytest.raises(ValueError):
            NgramTfidf.from_sklearn(TfidfVectorizer(**options).fit(TEXTS))


@pytest.mark.parametrize("rows,block", [(7, 1 << 15), (7, 5), (60, 1 << 15), (60, 40)])
def test_sparse_product_sums_in_scipys_order(rows, block):
    """Bit for bit scipy's product, whether rows are summed one by one (a few long rows) or position by position
    (many rows), in one block of entries or several."""
    from scipy.sparse import csr_matrix, hstack

    from nps_nlp._tfidf import sequential_row_sums

    rng = np.random.default_rng(rows + block)
    dense = [rng.random((rows, n)) * (rng.random((rows, n)) < rng.random((rows, 1))) for n in (40, 25)]
    dense[0][3] = 0.0  # an empty row in one part
    dense[0][5] = dense[1][5] = 0.0  # and an empty row
    parts = [csr_matrix(d) for d in dense]
    weights = rng.normal(size=(65, 5)) * 1e3
    plain = Sparse.hstack([Sparse(p.indptr, p.indices, p.data, p.shape[1]) for p in parts])
    expected = hstack(parts).tocsr() @ weights
    got = sequential_row_sums(plain.indptr, lambda part: plain.data[part, None] * weights[plain.indices[part]],
                              (5,), block=block)
    assert np.array_equal(got, expected) and np.array_equal(plain.dot(weights), expected)
    squares = sequential_row_sums(plain.indptr, lambda part: plain.data[part] ** 2, block=block)
    assert np.array_equal(squares, [sum(x * x for x in row.data) for row in hstack(parts).tocsr()])
    empty = Sparse(np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), 65)
    assert np.array_equal(empty.dot(weights), np.zeros((2, 5)))


def test_model_predicts_scikit_learns_probabilities(targets):
    state = _sklearn_state(TEXTS, targets)
    expected = _sklearn_proba(state, PROBES)
    converted = LexicalThemeModel.from_state(state)
    assert np.array_equal(converted.predict_proba(PROBES), expected)
    fitted = LexicalThemeModel().fit(TEXTS, targets)  # fit converts the same scikit-learn objects
    assert np.array_equal(fitted.weights_, converted.weights_) and np.array_equal(fitted.bias_, converted.bias_)
    assert np.array_equal(fitted.predict_proba(PROBES), expected)
    assert np.all(fitted.predict_proba(PROBES)[:, 3] == 0.0)
    assert fitted.predict_proba([]).shape == (0, 4)


def test_save_and_load_roundtrip_without_pickle(targets, tmp_path):
    model = LexicalThemeModel().fit(TEXTS, targets)
    model.save(tmp_path / "lexical.json", tmp_path / "lexical.safetensors")
    json.loads((tmp_path / "lexical.json").read_text(encoding="utf-8"))  # plain JSON
    loaded = LexicalThemeModel.load(tmp_path / "lexical.json", tmp_path / "lexical.safetensors")
    assert loaded.char_.vocabulary == model.char_.vocabulary and loaded.word_.vocabulary == model.word_.vocabulary
    assert np.array_equal(loaded.predict_proba(PROBES), model.predict_proba(PROBES))
    bad = json.loads((tmp_path / "lexical.json").read_text(encoding="utf-8")) | {"format": "other"}
    (tmp_path / "lexical.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="format"):
        LexicalThemeModel.load(tmp_path / "lexical.json", tmp_path / "lexical.safetensors")


def test_old_joblib_model_loads_as_plain_arrays(targets, tmp_path, monkeypatch):
    """A model saved as ``joblib.dump(LexicalThemeModel)`` by an older version: read without scikit-learn's
    classes (attribute holders instead), and with ``joblib.load`` where the restricted reader cannot."""
    import joblib

    from nps_nlp._classifier.persistence import _load_lexical

    state = _sklearn_state(TEXTS, targets)
    old = object.__new__(LexicalThemeModel)
    old.__dict__.update(state)
    joblib.dump(old, tmp_path / "lexical.joblib")
    expected = _sklearn_proba(state, PROBES)
    raw = _restricted_load(tmp_path / "lexical.joblib")
    assert not any(type(v).__module__.startswith("sklearn") for v in vars(raw).values())
    assert np.array_equal(_load_lexical(tmp_path).predict_proba(PROBES), expected)
    joblib.dump(old, tmp_path / "lexical.joblib", compress=3)  # not readable by the restricted reader
    assert np.array_equal(read_joblib_model(tmp_path / "lexical.joblib").predict_proba(PROBES), expected)
    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("the plain dump needs no joblib.load"))
    joblib.dump(old, tmp_path / "lexical.joblib")
    assert np.array_equal(read_joblib_model(tmp_path / "lexical.joblib").predict_proba(PROBES), expected)


def test_shipped_model_gives_scikit_learns_probabilities():
    import joblib

    with (ROOT / "data" / "seed" / "test.jsonl").open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    texts = texts[:400] + PROBES
    expected = _sklearn_proba(vars(joblib.load(LEGACY)), texts)
    assert np.array_equal(read_joblib_model(LEGACY).predict_proba(texts), expected)


def test_shipped_model_loads_without_scikit_learn_or_scipy():
    code = ("import sys; from nps_nlp._lexical_legacy import read_joblib_model; "
            f"p = read_joblib_model({str(LEGACY)!r}).predict_proba(['Great staff but the invoice was wrong']); "
            "print(p.shape, sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split("\n")[-2] == "(1, 15) []"
