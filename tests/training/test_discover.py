"""``discover``: uncovered answers, language centring, clusters that recover hidden themes, taxonomy YAML, CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nps_nlp.cli import app
from nps_nlp.errors import DataValidationError
from nps_nlp.taxonomy import Taxonomy, load_taxonomy
from training.active_learning import ModelOutputs
from training.discover import candidates_yaml, centre_languages, cluster_answers, describe_clusters, uncovered_mask

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def test_uncovered_means_no_theme_at_or_above_its_threshold_and_max_confidence():
    proba = np.array([[0.9, 0.1], [0.4, 0.2], [0.35, 0.1], [0.1, 0.1]])
    out = ModelOutputs(["en"] * 4, proba, np.zeros((4, 3)), np.zeros((4, 2)), ["a", "b"], {"a": 0.38, "b": 0.3})
    assert uncovered_mask(out, 0.5).tolist() == [False, True, True, True]
    assert uncovered_mask(out, 0.0).tolist() == [False, False, True, True]


def test_centre_languages_removes_each_language_offset():
    rng = np.random.default_rng(0)
    topic = rng.normal(size=(2, 16))
    lang_shift = {"en": rng.normal(size=16) * 3, "nl": rng.normal(size=16) * 3}
    langs = ["en", "nl"] * 20 + ["nb"]
    topics = [i % 4 // 2 for i in range(40)] + [0]
    X = np.array([topic[t] + lang_shift.get(lang, 0) + 0.1 * rng.normal(size=16) for t, lang in zip(topics, langs, strict=True)])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    before = cluster_answers(X[:40], min_cluster_size=5, max_clusters=2)
    after = cluster_answers(centre_languages(X[:40], langs[:40], min_count=10), min_cluster_size=5, max_clusters=2)
    same = np.array(topics[:40])
    assert abs(np.corrcoef(before, [lang == "en" for lang in langs[:40]])[0, 1]) > 0.9  # clusters = languages
    assert abs(np.corrcoef(after, same)[0, 1]) > 0.9  # clusters = topics
    centred = centre_languages(X, langs, min_count=10)
    assert np.allclose(np.linalg.norm(centred, axis=1), 1.0, atol=1e-5)
    shared = (X[-1] - X.mean(0)) / np.linalg.norm(X[-1] - X.mean(0))
    assert np.allclose(centred[-1], shared, atol=1e-5)  # one nb answer: too few to estimate an offset
    plain = centre_languages(X, langs)  # default min_count 50: no language offset is trusted, only the overall mean goes
    assert np.allclose(plain, (X - X.mean(0)) / np.linalg.norm(X - X.mean(0), axis=1, keepdims=True), atol=1e-5)


def test_cluster_answers_checks_options():
    with pytest.raises(DataValidationError, match="unknown clustering method"):
        cluster_answers(np.eye(4), method="kmeans")
    assert cluster_answers(np.eye(4), min_cluster_size=10).tolist() == [-1] * 4


@pytest.fixture(scope="module")
def two_theme_sets(seed_train, e5_dir):
    """Seed answers labelled with exactly one theme, for two pairs of themes, with their e5 vectors."""
    from training.audit import embed_texts

    pairs = [("billing_payment", "staff_attitude"), ("delivery_waiting", "website_app")]
    sets = []
    for pair in pairs:
        rows = [e for e in seed_train if e.themes and len(e.themes) == 1 and next(iter(e.themes)) in pair]
        sets.append((pair, rows))
    vectors = embed_texts([e.text for _, rows in sets for e in rows], encoder=str(e5_dir))
    out, start = [], 0
    for pair, rows in sets:
        out.append((pair, rows, vectors[start : start + len(rows)]))
        start += len(rows)
    return out


def test_clusters_recover_hidden_themes(two_theme_sets, seed_sample, seed_sample_vectors):
    """Answers of two themes the model does not know: discover's clusters should separate them. As in
    ``discover``, language offsets come from a larger, varied set of answers (360 random seed answers)."""
    for pair, rows, vectors in two_theme_sets:
        langs = [e.lang for e in rows]
        gold = np.array([pair.index(next(iter(e.themes))) for e in rows])
        centred = centre_languages(vectors, langs, reference=seed_sample_vectors,
                                   reference_langs=[e.lang for e in seed_sample])
        clusters = cluster_answers(centred, min_cluster_size=10)
        kept = clusters >= 0
        purity = sum(np.bincount(gold[clusters == c]).max() for c in set(clusters[kept])) / kept.sum()
        print(f"{pair}: {len(rows)} answers, clusters {np.bincount(clusters[kept]).tolist()}, "
              f"{kept.mean():.2f} clustered, purity {purity:.2f}")
        # the clustered share moves with tiny vector changes (0.72 in float32, 0.67 in bfloat16 on the second
        # pair, purity 0.97 in both): purity is the quality bar, the share only guards against a collapse
        assert purity >= 0.8 and kept.mean() >= 0.6
        # each theme is the majority of some cluster
        assert {int(np.bincount(gold[clusters == c]).argmax()) for c in set(clusters[kept])} == {0, 1}
        candidates = describe_clusters([e.text for e in rows], vectors, langs, clusters)
        assert [c.size for c in candidates] == sorted((c.size for c in candidates), reverse=True)
        for c in candidates:
            assert c.terms and set(c.examples) <= {"en", "nl", "nb", "nn"} and sum(c.languages.values()) == c.size
            assert all(len(v) <= 3 for v in c.examples.values())


def test_candidates_yaml_pastes_into_a_taxonomy(two_theme_sets):
    pair, rows, vectors = two_theme_sets[0]
    langs = [e.lang for e in rows]
    default = load_taxonomy()
    candidates = describe_clusters([e.text for e in rows], vectors, langs,
                                   cluster_answers(centre_languages(vectors, langs), min_cluster_size=10),
                                   taken_ids=default.ids)
    text = candidates_yaml(candidates, taxonomy=default)
    parsed = yaml.safe_load(text)
    assert [t["id"] for t in parsed["themes"]] == [c.id for c in candidates]
    merged = Taxonomy.from_dict({"themes": default.to_dict()["themes"] + parsed["themes"]})  # valid, no id clash
    assert len(merged) == len(default) + len(candidates)
    for c in candidates:
        assert f"# {c.size} answers" in text and merged[c.id].examples == c.examples


def test_discover_cli_finds_a_new_topic(default_model, tmp_path):
    """24 answers (en/nl/nb) about packaging waste, a topic the default taxonomy lacks, among 60 seed answers."""
    from nps_nlp.datasets import load_examples

    new = load_examples(DATA / "new_topics.jsonl")
    seed = load_examples(DATA.parents[2] / "data" / "seed" / "test.jsonl")[::7][:60]
    data = tmp_path / "answers.jsonl"
    with data.open("w", encoding="utf-8") as fh:
        for e in seed[:30] + new + seed[30:]:
            fh.write(json.dumps({"id": e.id, "comment": e.text, "lang": e.lang}, ensure_ascii=False) + "\n")
    out = tmp_path / "candidates.yaml"
    res = runner.invoke(app, ["discover", str(data), "--text-column", "comment", "--min-cluster-size", "8",
                              "--output", str(out), "-q"])
    assert res.exit_code == 0, res.output
    parsed = yaml.safe_load(out.read_text(encoding="utf-8"))
    Taxonomy.from_dict(parsed)
    new_texts = {e.text for e in new}
    best = max(parsed["themes"], key=lambda t: sum(x in new_texts for v in t["examples"].values() for x in v))
    examples = [x for v in best["examples"].values() for x in v]
    # two thirds, not all: which packaging answers the default model already files under a trained theme moves with
    # the CPU's arithmetic (bfloat16 products differ in their last bits between CPUs), and where only two of a
    # language's packaging answers stay uncovered, its third representative is the nearest unrelated answer
    assert sum(x in new_texts for x in examples) / len(examples) >= 2 / 3
    # one topic across languages; which languages' packaging answers the default model already files under a
    # trained theme (product_quality) depends on the model, so two of the three are asked for, not all three
    assert len({"en", "nl", "nb"} & set(best["examples"])) >= 2
    assert "uncovered" in res.output and "candidate themes" in res.stdout

    res = runner.invoke(app, ["discover", str(data), "--text-column", "comment", "--output", str(tmp_path / "c.json")])
    assert res.exit_code == 2 and ".yaml" in res.output
