"""Pool coverage (issue 34): pooled@k, judged@k and unpooled_ret against a count written here,
and infAP_condensed against score on the condensed file written out."""
import gzip
import random

import pytest
from support.pool import nist_ranking, qrels_pool

from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.coverage import coverage, coverage_columns, evaluate_with_coverage
from trecvid_fpig.evaluate.score import score_runs
from trecvid_fpig.evaluate.xinfap import evaluate_run
from trecvid_fpig.formats.qrels import load_qrels
from trecvid_fpig.formats.runs import read_any_run


def _lines(data_dir, year, name):
    return gzip.open(data_dir / f"{year}.{name}.txt.gz", "rt").read().splitlines()


def _with_ties_and_repeats(lines):
    """The run with tied scores (every fifth line takes its predecessor's score) and repeated
    shots (a shot's line again, with another score, which is the one that counts)."""
    rnd = random.Random(34)
    out = []
    for i, line in enumerate(lines):
        f = line.split()
        if i % 5 == 4:
            f[4] = out[-1].split()[4]
        out.append(" ".join(f))
    for line in rnd.sample(out, 300):
        f = line.split()
        out.append(" ".join(f[:4] + [f"{rnd.uniform(0, 200):.3f}", f[5]]))
    return out


def _variants(data_dir, year):
    a, b = _lines(data_dir, year, "runA"), _lines(data_dir, year, "runB")
    return {"runA": a, "runB": b, "runB-ties-repeats": _with_ties_and_repeats(b)}


@pytest.mark.parametrize("year", ["tv21", "tv23"])
def test_counts_against_a_count_of_the_qrels_file(year, data_dir, tmp_path):
    pool = qrels_pool(year)
    qrels = load_qrels(year)
    for name, lines in _variants(data_dir, year).items():
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(lines) + "\n")
        got = coverage(read_any_run(path), qrels)
        ranked = {t: shots for t, shots in nist_ranking(lines).items() if t in pool}
        assert [t.topic for t in got.topics] == list(ranked)
        for t in got.topics:
            shots, judged = ranked[t.topic], pool[t.topic]
            for i, k in enumerate((10, 100, 1000)):
                top = shots[:k]
                assert t.pooled[i] == sum(s in judged for s in top) / len(top)
                assert t.judged[i] == sum(judged.get(s, -1) >= 0 for s in top) / len(top)
            assert t.unpooled_ret == sum(s not in judged for s in shots[:1000])
        assert got.pooled[1] == pytest.approx(sum(t.pooled[1] for t in got.topics) / len(got.topics))
        assert got.unpooled_ret == pytest.approx(sum(t.unpooled_ret for t in got.topics) / len(got.topics))
    assert got.unpooled_ret > 0                       # the variants do leave the pool


@pytest.mark.parametrize("year", ["tv21", "tv23"])
def test_condensed_is_score_on_the_condensed_file(year, data_dir, tmp_path):
    pool, qrels = qrels_pool(year), load_qrels(year)
    for name, lines in _variants(data_dir, year).items():
        path, condensed = tmp_path / f"{name}.txt", tmp_path / f"{name}.condensed.txt"
        path.write_text("\n".join(lines) + "\n")
        condensed.write_text("\n".join(line for line in lines
                                       if line.split()[2] in pool.get(line.split()[0], {})) + "\n")
        got = coverage(read_any_run(path), qrels)
        want = score_runs(qrels, [condensed])[0].result
        assert [t.infAP_condensed for t in got.topics] == [t.infAP for t in want.topics]
        assert got.infAP_condensed == want.infAP


@pytest.mark.parametrize("year", ["tv21", "tv23"])
def test_a_run_inside_the_pool_is_fully_pooled_and_condensed_is_infap(year, data_dir):
    run = read_any_run(data_dir / f"{year}.runA.txt.gz")
    result, got = evaluate_with_coverage(load_qrels(year), run)
    assert all(p == 1.0 for t in got.topics for p in t.pooled) and got.pooled == (1.0, 1.0, 1.0)
    assert got.unpooled_ret == 0
    assert [t.infAP_condensed for t in got.topics] == [t.infAP for t in result.topics]
    assert got.infAP_condensed == result.infAP


def test_scoring_with_coverage_scores_as_before(data_dir):
    qrels = load_qrels("tv21")
    for name in ("runA", "runB"):
        run = read_any_run(data_dir / f"tv21.{name}.txt.gz")
        assert evaluate_with_coverage(qrels, run)[0] == evaluate_run(qrels, run)


def test_short_and_unpooled_topics(tmp_path):
    qrels = load_qrels("tv21")
    pooled = list(qrels.topics["1661"].rows)[:3]
    path = tmp_path / "short.txt"
    lines = [f"1661 Q0 {s} {i} {10 - i} T" for i, s in enumerate(pooled + ["shot99999_1"])]
    lines += [f"1662 Q0 shot99999_{i} {i} {10 - i} T" for i in range(1, 5)]   # nothing pooled
    path.write_text("\n".join(lines) + "\n")
    got = coverage(read_any_run(path), qrels)
    first, second = got.topics
    assert first.pooled == (0.75, 0.75, 0.75) and first.unpooled_ret == 1
    assert second.pooled == (0.0, 0.0, 0.0) and second.infAP_condensed == 0.0
    assert got.low and "pooled@100 is 0.38" in got.warning(0.01)
    assert list(got.values()) == coverage_columns()


def test_condensed_only_when_asked_or_when_coverage_is_low(data_dir):
    qrels = load_qrels("tv21")
    run = read_any_run(data_dir / "tv21.runB.txt.gz")
    assert evaluate_with_coverage(qrels, run, condensed=False)[1].infAP_condensed is None
    assert evaluate_with_coverage(qrels, run)[1].infAP_condensed > 0


def test_strict_missing_topics_count_zero_without_pool_figures(data_dir, tmp_path):
    lines = [line for line in _lines(data_dir, "tv21", "runB") if not line.startswith("1680")]
    path = tmp_path / "sub.txt"
    path.write_text("\n".join(lines) + "\n")
    result, got = evaluate_with_coverage(load_qrels("tv21"), read_any_run(path), missing_as_zero=True)
    missing = got.topics[-1]
    assert missing.topic == "1680" and missing.pooled == (None,) * 3 and missing.infAP_condensed == 0.0
    assert len(got.topics) == len(result.topics) == 20 and got.pooled[0] == pytest.approx(0.7)
    others = got.topics[:-1]         # the means docs/pool-bias.md states: blank left out, 0 counted
    assert got.pooled[1] == pytest.approx(sum(t.pooled[1] for t in others) / 19)
    assert got.unpooled_ret == pytest.approx(sum(t.unpooled_ret for t in others) / 20)


def test_depths_are_whole_numbers_from_1(data_dir):
    run = read_any_run(data_dir / "tv21.runA.txt.gz")
    assert coverage(run, load_qrels("tv21"), depths=(5,)).pooled == (1.0,)
    for bad in ((), (0,), (10.5,)):
        with pytest.raises(InputError, match="depths must be whole numbers"):
            coverage(run, load_qrels("tv21"), depths=bad)
