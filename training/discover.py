"""Theme discovery: cluster the answers no theme covers and propose candidate themes for the taxonomy.

>>> from nps_nlp import FeedbackClassifier
>>> from training.discover import discover, candidates_yaml
>>> result = discover(FeedbackClassifier.load("models/default"), texts)      # doctest: +SKIP
>>> print(candidates_yaml(result.candidates))                              # doctest: +SKIP

1. **Uncovered answers**: the model's most confident theme (counting only themes at or above their
   threshold) is below ``max_confidence``, or it finds no theme at all.
2. **Clusters** of their e5 sentence vectors, with each language's mean vector removed (else answers
   cluster by language as much as by topic): agglomerative (Ward) clustering with the number of
   clusters chosen by the silhouette score, or HDBSCAN; clusters smaller than ``min_cluster_size`` are
   dropped. Both are deterministic.
3. **Descriptions**: per cluster its size, languages, representative answers per language (closest to
   the cluster centre) and descriptive terms by class-based TF-IDF (as in BERTopic): words are
   lemmatised with simplemma for nl/nb/nn/en and stop words removed, then a term scores high when it is
   frequent in the cluster and rare elsewhere (the other clusters and the covered answers).
4. **YAML** in the taxonomy's schema (id, name and description per language, team, examples), to
   review and paste under ``themes:`` of a taxonomy file.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from nps_nlp import FeedbackClassifier
from nps_nlp.errors import DataValidationError
from nps_nlp.taxonomy import Taxonomy
from training.active_learning import ModelOutputs, model_outputs

__all__ = ["CandidateTheme", "DiscoverResult", "candidates_yaml", "centre_languages", "cluster_answers", "describe_clusters", "discover",
           "uncovered_mask"]

_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_LANG_ORDER = ("en", "nl", "nb", "nn")
# survey filler that says nothing about a theme, on top of the stop word lists
_FILLER = {
    "en": "good great bad very really just get got also would could always never thing things like everything nothing "
          "much well ok okay bit lot",
    "nl": "goed slecht erg heel echt gewoon wel altijd nooit alles niets prima fijn top beetje zeer",
    "nb": "bra dårlig veldig helt bare alltid aldri alt ingenting fint topp litt greit dere deg du vi jeg meg min mitt",
    "nn": "bra dårleg veldig heilt berre alltid aldri alt ingenting fint topp litt greitt eg ikkje ho dei kva",
}
_ABOUT = {"en": "Answers about {}.", "nl": "Antwoorden over {}.", "nb": "Svar om {}.", "nn": "Svar om {}."}
_AND = {"en": "and", "nl": "en", "nb": "og", "nn": "og"}


@lru_cache(maxsize=8)
def _stop_words(lang: str) -> frozenset[str]:
    import importlib

    module = {"en": "en", "nl": "nl", "nb": "nb", "nn": "nb"}.get(lang)
    words: set[str] = set()
    if module:
        words |= set(importlib.import_module(f"spacy.lang.{module}.stop_words").STOP_WORDS)
    return frozenset(words | set(_FILLER.get(lang, "").split()))


def _tokens(text: str, lang: str | None) -> list[str]:
    """Lower-cased lemmas of the content words of one answer."""
    import simplemma

    code = lang if lang in _LANG_ORDER else None
    stop = _stop_words(code or "en")
    out = []
    for word in _WORD.findall(text.lower()):
        lemma = simplemma.lemmatize(word, lang=code).lower() if code else word
        if word not in stop and lemma not in stop and len(lemma) > 1:
            out.append(lemma)
    return out


@dataclass
class CandidateTheme:
    """One proposed theme.

    Attributes:
        id: a snake_case id derived from the top terms (unique against the taxonomy and the other candidates).
        size: answers in the cluster.
        share: ``size`` as a share of all answers analysed.
        languages: answers per language.
        terms: descriptive terms (lemmas), best first.
        terms_by_lang: the best terms per language.
        examples: representative answers per language (closest to the cluster centre first).
        rows: positions of the cluster's answers in the input.
        name: proposed display name per language.
        description: proposed description per language.
        cohesion: mean cosine similarity of the answers to the cluster centre.
    """

    id: str
    size: int
    share: float
    languages: dict[str, int]
    terms: list[str]
    terms_by_lang: dict[str, list[str]]
    examples: dict[str, list[str]]
    rows: list[int]
    name: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    cohesion: float = 0.0

    def to_theme(self) -> dict[str, Any]:
        """The taxonomy entry (the YAML file's shape); ``team`` is left for the analyst to set."""
        return {"id": self.id, "team": None, "name": dict(self.name), "description": dict(self.description),
                "examples": {k: list(v) for k, v in self.examples.items()}}


@dataclass
class DiscoverResult:
    """Result of :func:`discover`.

    Attributes:
        candidates: candidate themes, largest first.
        n_answers: answers analysed.
        n_uncovered: answers no theme covers with enough confidence.
        uncovered_rows: their positions in the input.
        clusters: cluster number per uncovered answer (``-1``: in no kept cluster).
    """

    candidates: list[CandidateTheme]
    n_answers: int
    n_uncovered: int
    uncovered_rows: list[int]
    clusters: list[int]


def uncovered_mask(outputs: ModelOutputs, max_confidence: float = 0.5) -> np.ndarray:
    """Answers whose most confident detected theme is below ``max_confidence`` (or that have none).

    A theme counts as detected when its probability reaches the model's threshold for it (as in ``predict``).
    """
    if not outputs.labels:
        return np.ones(len(outputs.langs), dtype=bool)
    t = np.array([outputs.thresholds.get(label, 0.5) for label in outputs.labels])[None, :]
    best = np.where(outputs.proba >= t, outputs.proba, -1.0).max(1)  # -1: no theme detected
    return best < max_confidence


def centre_languages(embeddings: np.ndarray, langs: Sequence[str | None], *, reference: np.ndarray | None = None,
                     reference_langs: Sequence[str | None] | None = None, min_count: int = 50) -> np.ndarray:
    """Centre sentence vectors on the mean of all answers, minus each language's offset, and re-normalise.

    Multilingual sentence vectors carry a language component: without this step, answers cluster by
    language as much as by topic (seed answers of delivery_waiting vs website_app: cluster purity 0.55 -> 0.97).
    A language's offset is only trusted when it rests on ``min_count`` reference answers: in a language
    with few answers, which may all be about one topic, the "offset" would be the topic itself.

    Args:
        embeddings: ``[n, dim]`` vectors to centre.
        langs: their languages.
        reference: vectors the means are computed from (default: ``embeddings``), e.g. all answers.
        reference_langs: languages of ``reference``.
        min_count: languages with fewer reference answers are left as they are.

    Returns:
        ``[n, dim]`` L2-normalised vectors.
    """
    ref = np.asarray(embeddings if reference is None else reference, dtype=np.float64)
    ref_langs = np.array([str(x) for x in (langs if reference_langs is None else reference_langs)])
    lang_arr = np.array([str(x) for x in langs])
    out = np.array(embeddings, dtype=np.float64, copy=True)
    # everyone loses the mean of all answers (what every answer shares); trusted languages their own mean
    out -= ref.mean(0) if len(ref) else 0.0
    for lang in set(lang_arr.tolist()):
        in_ref = ref_langs == lang
        if in_ref.sum() >= min_count:
            out[lang_arr == lang] -= ref[in_ref].mean(0) - ref.mean(0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32)


def cluster_answers(embeddings: np.ndarray, *, min_cluster_size: int = 10, max_clusters: int = 12,
                    method: str = "agglomerative") -> np.ndarray:
    """Cluster sentence vectors; clusters smaller than ``min_cluster_size`` become ``-1``.

    Args:
        embeddings: ``[n, dim]`` L2-normalised vectors.
        min_cluster_size: smallest cluster kept.
        max_clusters: for ``agglomerative``, the largest number of clusters tried (2..max_clusters, the best
            silhouette score wins).
        method: ``agglomerative`` (Ward linkage) or ``hdbscan``.

    Returns:
        A cluster number per answer, ``-1`` for answers in no kept cluster; kept clusters are numbered
        0, 1, ... from largest to smallest.

    Raises:
        DataValidationError: unknown method, bad sizes.
    """
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    if method not in ("agglomerative", "hdbscan"):
        raise DataValidationError(f"unknown clustering method {method!r}; expected 'agglomerative' or 'hdbscan'")
    if min_cluster_size < 2 or max_clusters < 2:
        raise DataValidationError(f"min_cluster_size and max_clusters must be at least 2, found {min_cluster_size} "
                                  f"and {max_clusters}")
    X = np.asarray(embeddings, dtype=np.float64)
    n = len(X)
    if n < min_cluster_size:
        return np.full(n, -1)
    if method == "hdbscan":
        raw = HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit_predict(X)
    else:
        best: tuple[float, np.ndarray] | None = None
        for k in range(2, min(max_clusters, n - 1) + 1):
            labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(X)
            # judge k on the clusters that would be kept, so that many small leftovers do not win
            sizes = np.bincount(labels)
            kept = np.isin(labels, np.flatnonzero(sizes >= min_cluster_size))
            if len(np.unique(labels[kept])) < 2:
                continue
            score = float(silhouette_score(X[kept], labels[kept], metric="cosine")) * kept.mean()
            if best is None or score > best[0]:
                best = (score, labels)
        raw = best[1] if best is not None else np.zeros(n, dtype=int)
    counts = Counter(int(c) for c in raw if c >= 0)
    order = [c for c, s in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if s >= min_cluster_size]
    remap = {c: i for i, c in enumerate(order)}
    return np.array([remap.get(int(c), -1) for c in raw])


def _ascii_id(words: Sequence[str]) -> str:
    text = "_".join(words).replace("ø", "o").replace("æ", "ae").replace("å", "a").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return text if text and text[0].isalpha() else f"theme_{text}".strip("_")


def _join(words: Sequence[str], lang: str) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {_AND[lang]} {words[-1]}"


def describe_clusters(
    texts: Sequence[str],
    embeddings: np.ndarray,
    langs: Sequence[str | None],
    clusters: Sequence[int] | np.ndarray,
    *,
    background: Sequence[str] = (),
    background_langs: Sequence[str | None] | None = None,
    n_terms: int = 10,
    n_examples: int = 3,
    taken_ids: Sequence[str] = (),
    n_total: int | None = None,
    rows: Sequence[int] | None = None,
) -> list[CandidateTheme]:
    """Describe clusters as candidate themes: size, languages, c-TF-IDF terms, representative answers, names.

    Args:
        texts, embeddings, langs: the clustered answers.
        clusters: cluster number per answer (``-1`` = none).
        background: other answers (e.g. the covered ones) that make terms specific: a word frequent
            everywhere does not describe a cluster.
        background_langs: languages of ``background``.
        n_terms: terms kept per candidate.
        n_examples: representative answers per language.
        taken_ids: ids already used (the taxonomy's), avoided for the new ids.
        n_total: the number of answers ``share`` is relative to (default ``len(texts)``).
        rows: position of each answer in the caller's input (default ``0..n-1``).

    Returns:
        One :class:`CandidateTheme` per cluster, in cluster order.
    """
    labels = np.asarray(clusters)
    texts, langs = list(texts), list(langs)
    rows = list(range(len(texts))) if rows is None else list(rows)
    ids = sorted({int(c) for c in labels if c >= 0})
    tokens = [_tokens(t, lang) for t, lang in zip(texts, langs, strict=True)]
    bg_langs = list(background_langs) if background_langs is not None else [None] * len(background)
    # classes: each cluster, then everything else (unclustered answers + background) as one class
    counts = [Counter(w for i in np.flatnonzero(labels == c) for w in tokens[i]) for c in ids]
    rest = Counter(w for i in np.flatnonzero(labels < 0) for w in tokens[i])
    for text, lang in zip(background, bg_langs, strict=True):
        rest.update(_tokens(text, lang))
    classes = [*counts, rest]
    total = Counter[str]()
    for cls in classes:
        total.update(cls)
    avg_words = sum(sum(cls.values()) for cls in classes) / max(1, len(classes))

    taken = set(taken_ids)
    out = []
    for k, c in enumerate(ids):
        members = [int(i) for i in np.flatnonzero(labels == c)]
        n_words = max(1, sum(counts[k].values()))
        doc_freq = Counter(w for i in members for w in set(tokens[i]))
        min_df = max(2, math.ceil(0.05 * len(members)))
        score = {w: (f / n_words) * math.log(1 + avg_words / total[w]) for w, f in counts[k].items() if doc_freq[w] >= min_df}
        terms = sorted(score, key=lambda w: (-score[w], w))[:n_terms]
        lang_of = Counter(str(langs[i]) for i in members if langs[i])
        by_lang: dict[str, list[str]] = {}
        for lang in _LANG_ORDER:
            if not lang_of.get(lang):
                continue
            in_lang = Counter(w for i in members if langs[i] == lang for w in set(tokens[i]))
            by_lang[lang] = sorted((w for w in in_lang if w in score), key=lambda w: (-score[w], w))[:5]
        examples, cohesion = _representatives(texts, embeddings, langs, members, n_examples)
        theme_id = _new_id(by_lang, terms, c, taken)
        name = {lang: " / ".join(words[:2]).capitalize() for lang, words in by_lang.items() if words}
        description = {lang: _ABOUT[lang].format(_join(words[:3], lang)) for lang, words in by_lang.items() if words}
        if not name:
            name = {"en": theme_id.replace("_", " ").capitalize()}
        out.append(CandidateTheme(
            id=theme_id, size=len(members), share=round(len(members) / max(1, n_total or len(texts)), 4),
            languages={lang: lang_of[lang] for lang in sorted(lang_of, key=lambda x: -lang_of[x])},
            terms=terms, terms_by_lang=by_lang, examples=examples, rows=[rows[i] for i in members],
            name=name, description=description, cohesion=cohesion,
        ))
    return out


def _representatives(texts: list[str], embeddings: np.ndarray, langs: list[str | None], members: list[int],
                     n_examples: int) -> tuple[dict[str, list[str]], float]:
    """The ``n_examples`` answers per language closest to the cluster's centre, and the members' mean cosine to it."""
    centre = embeddings[members].mean(0)
    centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
    sims = embeddings[members] @ centre
    examples: dict[str, list[str]] = {}
    for j in np.argsort(-sims, kind="stable"):
        lang = langs[members[int(j)]]
        if lang in _LANG_ORDER and len(examples.setdefault(lang, [])) < n_examples:
            examples[lang].append(texts[members[int(j)]])
    return {lang: examples[lang] for lang in _LANG_ORDER if examples.get(lang)}, round(float(sims.mean()), 4)


def _new_id(by_lang: dict[str, list[str]], terms: list[str], cluster: int, taken: set[str]) -> str:
    """A theme id from the cluster's top English terms (else another language's, else its terms), not in ``taken``;
    adds it to ``taken``."""
    name_lang = next((lang for lang in _LANG_ORDER if by_lang.get(lang)), None)
    base = _ascii_id((by_lang.get("en") or (by_lang[name_lang] if name_lang else terms) or [f"cluster_{cluster}"])[:2])
    theme_id, n = base, 2
    while theme_id in taken:
        theme_id, n = f"{base}_{n}", n + 1
    taken.add(theme_id)
    return theme_id


def discover(
    model: FeedbackClassifier,
    texts: Sequence[str],
    *,
    langs: Sequence[str | None] | None = None,
    max_confidence: float = 0.5,
    min_cluster_size: int = 10,
    max_clusters: int = 12,
    method: str = "agglomerative",
    outputs: ModelOutputs | None = None,
    show_progress_bar: bool = False,
) -> DiscoverResult:
    """Find answers no theme covers, cluster them and propose candidate themes.

    Args:
        model: a trained :class:`FeedbackClassifier` (its theme probabilities and its encoder are used).
        texts: the answers.
        langs: language hints per answer (``None``: detected).
        max_confidence: an answer whose most confident detected theme is below this counts as uncovered.
        min_cluster_size: smallest cluster that becomes a candidate.
        max_clusters: most clusters tried (agglomerative).
        method: ``agglomerative`` or ``hdbscan``.
        outputs: precomputed :func:`~training.active_learning.model_outputs` for ``texts``.
        show_progress_bar: progress bar while scoring.

    Returns:
        A :class:`DiscoverResult`.

    Raises:
        DataValidationError: no answers, or bad options (checked before the encoder runs).
    """
    texts = ["" if t is None else str(t) for t in texts]
    if not texts:
        raise DataValidationError("discover needs answers, found none")
    if not 0.0 <= max_confidence <= 1.0:
        raise DataValidationError(f"max_confidence must be in [0, 1], found {max_confidence}")
    if method not in ("agglomerative", "hdbscan"):
        raise DataValidationError(f"unknown clustering method {method!r}; expected 'agglomerative' or 'hdbscan'")
    out = outputs or model_outputs(model, texts, langs=langs, show_progress_bar=show_progress_bar)
    has_words = np.array([bool(_WORD.search(t)) for t in texts])
    mask = uncovered_mask(out, max_confidence) & has_words
    rows = np.flatnonzero(mask)
    ok = np.flatnonzero(has_words)
    vectors = centre_languages(out.embeddings[rows], [out.langs[i] for i in rows], reference=out.embeddings[ok],
                               reference_langs=[out.langs[i] for i in ok])
    clusters = cluster_answers(vectors, min_cluster_size=min_cluster_size, max_clusters=max_clusters,
                               method=method) if len(rows) else np.zeros(0, dtype=int)
    covered = np.flatnonzero(~mask & has_words)
    candidates = describe_clusters(
        [texts[i] for i in rows], vectors, [out.langs[i] for i in rows], clusters,
        background=[texts[i] for i in covered], background_langs=[out.langs[i] for i in covered],
        taken_ids=model.taxonomy_.ids, n_total=len(texts), rows=rows.tolist(),
    )
    return DiscoverResult(candidates, len(texts), int(mask.sum()), rows.tolist(), clusters.tolist())


def candidates_yaml(candidates: Sequence[CandidateTheme], *, taxonomy: Taxonomy | None = None) -> str:
    """Candidate themes as a taxonomy YAML document (``themes:`` list), with a comment per theme giving its
    size, languages and terms. The entries validate as a taxonomy; review names, set ``team`` and paste them."""
    import yaml

    lines = ["# Candidate themes proposed by `nps-nlp discover`. Review each: rename, set the owning team,",
             "# then paste the entries you keep under `themes:` in your taxonomy file"
             + (f" (extends {taxonomy.name!r})." if taxonomy is not None else "."), "themes:"]
    if not candidates:
        lines[-1] = "themes: []"
    for c in candidates:
        lines.append(f"  # {c.size} answers ({100 * c.share:.1f}% of all): "
                     + ", ".join(f"{k} {v}" for k, v in c.languages.items())
                     + f"; cohesion {c.cohesion:.2f}; terms: {', '.join(c.terms)}")
        block = yaml.safe_dump([c.to_theme()], allow_unicode=True, sort_keys=False, width=120, default_flow_style=False)
        lines += ["  " + line for line in block.rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n"
