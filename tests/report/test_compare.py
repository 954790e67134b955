"""`fpig-trecvid compare`: per-topic infAP side by side and Holm-corrected paired tests."""
import csv
import io
import json

import numpy as np
import pytest
from scipy import stats
from support.cli import invoke

from trecvid_fpig.evaluate.score import score_runs
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.formats.runs import write_run
from trecvid_fpig.report.stats import holm, paired_t_test, randomization_test


def compare(*args, ok=True):
    return invoke("compare", *args, ok=ok)


def per_topic(data_dir, year, run):
    result = score_runs(load_qrels(year), [data_dir / f"{year}.{run}.txt.gz"])[0].result
    return {t.topic: t.infAP for t in result.topics}


@pytest.fixture(scope="module")
def synthetic_runs(tmp_path_factory):
    """Three runs over the shipped TV21 qrels: relevant shots first (good), judged
    non-relevant first (bad), and `good` reversed on half of the topics (mixed)."""
    folder = tmp_path_factory.mktemp("runs")
    qrels = load_qrels("tv21")
    good, bad, mixed = [], [], []
    for n, (topic, judged) in enumerate(sorted(qrels.as_binary_dict().items())):
        relevant = sorted(s for s, rel in judged.items() if rel)[:50]
        other = sorted(s for s, rel in judged.items() if not rel)[:50]
        scores = [float(100 - i) for i in range(100)]
        good.append((topic, relevant + other, scores))
        bad.append((topic, other + relevant, scores))
        mixed.append((topic, (relevant + other) if n % 2 else (other + relevant), scores))
    paths = []
    for name, rankings in (("good", good), ("bad", bad), ("mixed", mixed)):
        write_run(folder / f"{name}.txt", rankings, name)
        paths.append(folder / f"{name}.txt")
    return paths


def test_pairs_tests_and_holm_match_independent_computation(synthetic_runs):
    out = json.loads(compare("--qrels", "tv21", "--format", "json", *synthetic_runs).stdout)
    qrels = load_qrels("tv21")
    scores = [{t.topic: t.infAP for t in score_runs(qrels, [p])[0].result.topics} for p in synthetic_runs]
    topics = sorted(scores[0], key=int)
    assert [r["topic"] for r in out["topics"]] == topics + ["mean"]
    for r in out["topics"][:-1]:
        assert [r["good.txt"], r["bad.txt"], r["mixed.txt"]] == [s[r["topic"]] for s in scores]
    pairs = [(0, 1), (0, 2), (1, 2)]
    vectors = [[s[t] for t in topics] for s in scores]
    p_random = [randomization_test(vectors[i], vectors[j], 10_000, 0) for i, j in pairs]
    p_t = [paired_t_test(vectors[i], vectors[j]) for i, j in pairs]
    assert [r["p random"] for r in out["pairs"]] == p_random
    assert [r["p t-test"] for r in out["pairs"]] == p_t
    assert [r["p random (Holm)"] for r in out["pairs"]] == holm(p_random)
    assert [r["p t-test (Holm)"] for r in out["pairs"]] == holm(p_t)
    good_bad = out["pairs"][0]
    assert (good_bad["run A"], good_bad["run B"]) == ("good.txt", "bad.txt")
    assert good_bad["sig"] == "‡" and good_bad["diff"] > 0
    assert out["meta"]["permutations"] == 10_000 and out["meta"]["seed"] == 0
    for (i, j), row in zip(pairs, out["pairs"]):
        d = np.subtract(vectors[i], vectors[j])
        ci = stats.bootstrap((d,), np.mean, n_resamples=10_000, method="percentile",
                             random_state=np.random.default_rng(0)).confidence_interval
        assert (row["CI low"], row["CI high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert row["effect"] == pytest.approx(d.mean() / d.std(ddof=1))
        assert row["W/T/L"] == f"{sum(d > 0)}/{sum(d == 0)}/{sum(d < 0)}"
        assert row["scope"] == "" and row["topics"] == len(topics)


def test_same_seed_same_output_other_seed_other_p(synthetic_runs):
    args = ("--qrels", "tv21", "--format", "json", "--permutations", "500", *synthetic_runs[1:])
    first = compare(*args).stdout
    assert compare(*args).stdout == first
    other = json.loads(compare(*args, "--seed", "1").stdout)["pairs"][0]["p random"]
    assert other != json.loads(first)["pairs"][0]["p random"]


def test_table_marks_significance_and_explains_it(synthetic_runs):
    out = compare("--qrels", "tv21", *synthetic_runs[:2]).stdout
    line = next(l for l in out.splitlines() if l.split()[1:3] == ["good.txt", "bad.txt"]
                and l.split()[0] == "20")
    assert line.endswith("‡") and "< 0.0001" in line and "0.0000" not in line
    assert "† p < 0.05, ‡ p < 0.01" in out and "10000 random sign flips, seed 0" in out
    latex = compare("--qrels", "tv21", "--format", "latex", "--no-per-topic", *synthetic_runs[:2]).stdout
    assert r"$^\ddagger$ \\" in latex and r"$<$ 0.0001" in latex and "% sig: †" in latex
    md = compare("--qrels", "tv21", "--format", "markdown", "--no-per-topic", *synthetic_runs[:2]).stdout
    assert "| good.txt | bad.txt |" in md and "Per-topic" not in md


def test_csv_is_data_only(synthetic_runs):
    result = compare("--qrels", "tv21", "--format", "csv", "--no-per-topic", *synthetic_runs[:2])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1 and rows[0]["sig"] == "‡"
    assert float(rows[0]["p random"]) == pytest.approx(1 / 10_001)      # full precision
    assert "Holm" in result.stderr


@pytest.mark.slow       # scores four runs of two years and pools them
def test_manifest_pools_topics_of_several_years(tmp_path, data_dir):
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'''
[[model]]
name = "A"
trecvid.tv21 = "{(data_dir / 'tv21.runA.txt.gz').as_posix()}"
trecvid.tv23 = "{(data_dir / 'tv23.runA.txt.gz').as_posix()}"
[[model]]
name = "B"
trecvid.tv21 = "{(data_dir / 'tv21.runB.txt.gz').as_posix()}"
trecvid.tv23 = "{(data_dir / 'tv23.runB.txt.gz').as_posix()}"
trecvid.tv19 = "only-b-has-tv19.txt"
''')
    out = json.loads(compare("--manifest", manifest, "--format", "json").stdout)
    a = {**per_topic(data_dir, "tv21", "runA"), **per_topic(data_dir, "tv23", "runA")}
    b = {**per_topic(data_dir, "tv21", "runB"), **per_topic(data_dir, "tv23", "runB")}
    rows = out["topics"][:-1]
    assert len(rows) == 40 and {r["year"] for r in rows} == {"tv21", "tv23"}
    assert [r["A"] for r in rows] == [a[r["topic"]] for r in rows]
    assert [r["B"] for r in rows] == [b[r["topic"]] for r in rows]
    assert [p["scope"] for p in out["pairs"]] == ["tv21", "tv23", "pooled"]
    pooled = out["pairs"][2]
    assert pooled["topics"] == 40
    assert pooled["p t-test"] == paired_t_test([r["A"] for r in rows], [r["B"] for r in rows])
    for pair, year in zip(out["pairs"], ("tv21", "tv23")):
        mine = [r for r in rows if r["year"] == year]
        assert pair["topics"] == 20
        assert pair["p t-test"] == pytest.approx(stats.ttest_rel([r["A"] for r in mine],
                                                                 [r["B"] for r in mine]).pvalue)
    assert "TV21: 20 topics (1661-1680)" in out["meta"]["notes"]
    assert any(n.startswith("TV19 left out") for n in out["meta"]["notes"])
    one_year = json.loads(compare("--manifest", manifest, "--year", "tv23", "--format", "json").stdout)
    assert {r["year"] for r in one_year["topics"][:-1]} == {"tv23"}
    result = compare("--manifest", manifest, "--year", "tv19", ok=False)
    assert result.exit_code == 2 and "cannot compare on TV19" in result.stderr


def test_each_pair_is_tested_on_the_topics_both_runs_have(tmp_path, synthetic_runs):
    """A run lacking topics cuts only its own pairs, and the note names that run."""
    lines = synthetic_runs[0].read_text().splitlines()
    partial = tmp_path / "partial.txt"
    partial.write_text("\n".join(l for l in lines if not l.startswith(("1661 ", "1662 "))) + "\n")
    out = json.loads(compare("--qrels", "tv21", "--format", "json", partial, *synthetic_runs[1:]).stdout)
    pairs = {(p["run A"], p["run B"]): p for p in out["pairs"]}
    assert pairs[("partial.txt", "bad.txt")]["topics"] == 18
    assert pairs[("partial.txt", "mixed.txt")]["topics"] == 18
    assert pairs[("bad.txt", "mixed.txt")]["topics"] == 20
    full = json.loads(compare("--qrels", "tv21", "--format", "json", *synthetic_runs[1:]).stdout)
    unadjusted = [c for c in full["pairs"][0] if "Holm" not in c and c != "sig"]
    assert {c: full["pairs"][0][c] for c in unadjusted} == {c: pairs[("bad.txt", "mixed.txt")][c] for c in unadjusted}
    rows = {r["topic"]: r for r in out["topics"]}
    assert len(rows) == 21 and rows["1661"]["partial.txt"] is None and rows["1661"]["bad.txt"] is not None
    assert out["meta"]["notes"][0] == "partial.txt: no score for 2 topic(s): 1661, 1662"
    assert not any("bad.txt" in n or "mixed.txt" in n for n in out["meta"]["notes"])
    table = compare("--qrels", "tv21", partial, synthetic_runs[1]).stdout
    assert "1661" in table and "–" in table and "nan" not in table.lower()


@pytest.mark.parametrize("args,message", [
    (("--qrels", "tv21"), "at least 2 run"),
    (("RUN",), "either --qrels"),
    (("--qrels", "tv21", "--year", "tv21", "a", "b"), "--manifest"),
])
def test_usage_errors(args, message):
    result = compare(*args, ok=False)
    assert result.exit_code == 2 and message in result.stderr


def test_missing_run_file_is_an_input_error(synthetic_runs):
    result = compare("--qrels", "tv21", synthetic_runs[0], "nope.txt", ok=False)
    assert result.exit_code == 2 and "nope.txt: no such file" in result.stderr


def test_python_api_compare_gives_the_cli_pairs(synthetic_runs):
    """trecvid_fpig.compare is the same computation as the CLI, and its t-test is scipy's."""
    import trecvid_fpig as tf

    frame = tf.compare(synthetic_runs[:2], qrels="tv21", permutations=500, bootstrap=500)
    cli = json.loads(compare("--qrels", "tv21", "--format", "json", "--permutations", "500",
                             "--bootstrap", "500", *synthetic_runs[:2]).stdout)["pairs"]
    assert len(frame) == 1 == len(cli)
    for column in ("diff", "CI low", "CI high", "effect", "W/T/L", "p random", "p t-test", "sig"):
        assert frame.loc[0, column] == cli[0][column], column
    qrels = load_qrels("tv21")
    a, b = ([t.infAP for t in score_runs(qrels, [p])[0].result.topics] for p in synthetic_runs[:2])
    assert frame.loc[0, "p t-test"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    with pytest.raises(tf.InputError):
        tf.compare(synthetic_runs[:2])
