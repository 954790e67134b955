"""Run fusion: the formulas of docs/fusion.md recomputed by hand, parity with ranx, exact writing."""
import re

import numpy as np
import pytest
from support import REPO
from support.cli import invoke

import trecvid_fpig as tf
from trecvid_fpig.formats.runs import parse_run
from trecvid_fpig.fusion.tune import weight_grid

DOC = REPO / "docs" / "fusion.md"
NORM_NAMES = {"minmax": "min-max", "zscore": "zmuv", "sum": "sum", "none": None}
METHOD_NAMES = {"rrf": "rrf", "combsum": "sum", "combmnz": "mnz", "weighted": "wsum"}


# --- an independent reading of the formulas -------------------------------------------------

def ranked(scores):
    """NIST's order: score descending, shot id descending."""
    return sorted(scores, key=lambda s: (scores[s], s), reverse=True)


def norm(scores, how):
    v = np.array(list(scores.values()), dtype=float)
    if how == "minmax":
        out = (v - v.min()) / max(v.max() - v.min(), 1e-9)
    elif how == "zscore":
        out = (v - v.mean()) / max(v.std(), 1e-9)
    elif how == "sum":
        out = (v - v.min()) / max((v - v.min()).sum(), 1e-9)
    else:
        out = v
    return dict(zip(scores, out))


def by_hand(runs, method, how="minmax", weights=None, k=60):
    """{shot: fused score} for one topic from [{shot: score}] runs."""
    fused, listed = {}, {}
    for i, run in enumerate(runs):
        order = ranked(run)
        values = {s: 1 / (k + order.index(s) + 1) for s in run} if method == "rrf" else norm(run, how)
        for shot, value in values.items():
            w = weights[i] if method == "weighted" else 1
            fused[shot] = fused.get(shot, 0) + w * value
            listed[shot] = listed.get(shot, 0) + 1
    if method == "combmnz":
        fused = {s: v * listed[s] for s, v in fused.items()}
    return fused


def random_runs(seed, n_runs=3, topics=("1661", "1662"), pool=40, size=25):
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(n_runs):
        runs.append({t: {f"shot{rng.integers(1, 99999):05d}_{j}": float(rng.normal())
                         for j in rng.choice(np.arange(1, pool + 1), size, replace=False)} for t in topics})
    return [tf.Run.from_dict(r, tag=f"r{i}") for i, r in enumerate(runs)]


# --- tests -------------------------------------------------------------------------------------

def test_worked_example_in_the_doc_is_the_formulas(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    runs = []
    for name in ("a.txt", "b.txt"):
        body = re.search(rf"cat > out/{name} <<'EOF'\n(.*?)^EOF$", text, re.M | re.S).group(1)
        runs.append({l.split()[2]: float(l.split()[4]) for l in body.splitlines()})
    shown = re.findall(r"fpig-trecvid fuse --method (\w+) .*?\n```\n\n```output\nwrote [^\n]*\n(.*?)```", text, re.S)
    assert {m for m, _ in shown} == {"rrf", "combsum", "combmnz"}
    for method, output in shown:
        lines = [l.split() for l in output.splitlines()]
        fused = by_hand(runs, method)
        assert [l[2] for l in lines] == ranked(fused)
        assert [float(l[4]) for l in lines] == [fused[s] for s in ranked(fused)]
    rows = [[c.strip() for c in l.strip("|").split("|")] for l in text.splitlines()
            if re.match(r"\| shot\d+_1 \| [\d–]", l)]
    assert len(rows) == 4
    for shot, _ranks, rrf, combsum, combmnz in rows:
        value = lambda cell: float(cell.split("=")[-1])  # noqa: E731
        assert round(by_hand(runs, "rrf")[shot], 6) == value(rrf)
        assert by_hand(runs, "combsum")[shot] == value(combsum)
        assert by_hand(runs, "combmnz")[shot] == value(combmnz)


@pytest.mark.parametrize("method", ["rrf", "combsum", "combmnz", "weighted"])
@pytest.mark.parametrize("how", ["minmax", "zscore", "sum", "none"])
def test_matches_the_formulas_on_random_runs(method, how):
    if method == "rrf" and how != "none":
        return
    runs = random_runs(hash((method, how)) % 1000)
    weights = [0.5, 1.0, 2.0] if method == "weighted" else None
    fused = tf.fuse(runs, method=method, norm=how, weights=weights)
    for topic in fused.topics:
        expected = by_hand([r.to_dict()[topic] for r in runs], method, how, weights)
        got = fused.to_dict()[topic]
        assert list(got) == ranked(expected)
        assert list(got.values()) == pytest.approx([expected[s] for s in got], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("method,how", [("rrf", "none"), ("combsum", "minmax"), ("combmnz", "minmax"),
                                        ("combsum", "zscore"), ("weighted", "sum"), ("combmnz", "none")])
@pytest.mark.slow       # ranx compiles its fusion with numba on first use
def test_parity_with_ranx(method, how):
    ranx = pytest.importorskip("ranx")
    runs = random_runs(7)
    weights = [0.2, 0.3, 0.5] if method == "weighted" else None
    ours = tf.fuse(runs, method=method, norm=how if method != "rrf" else None, weights=weights).to_dict()
    params = {"weights": weights} if weights else {}
    theirs = ranx.fuse([r.to_ranx() for r in runs], norm=NORM_NAMES[how], method=METHOD_NAMES[method],
                       params=params).to_dict()
    for topic in ours:
        assert ours[topic] == pytest.approx(theirs[topic], rel=1e-12, abs=1e-15)


def test_written_scores_keep_a_ranking_finer_than_a_millionth(tmp_path):
    # two orders of the same 1000 shots: their RRF sums lie so close that six decimals tie some
    shots = [f"shot{i:05d}_1" for i in range(1, 1001)]
    shuffled = np.random.default_rng(3).permutation(shots)
    a = tf.Run.from_dict({"1661": {s: -i for i, s in enumerate(shots)}}, tag="a")
    b = tf.Run.from_dict({"1661": {s: -i for i, s in enumerate(shuffled)}}, tag="b")
    fused = tf.fuse([a, b], method="rrf")
    scores = fused.topics["1661"].scores
    assert len({round(s, 6) for s in scores.tolist()}) < len(set(scores.tolist()))
    fused.to_trec(tmp_path / "f.txt")
    reread = parse_run(tmp_path / "f.txt").topics["1661"]
    assert reread.shots == fused.topics["1661"].shots
    assert reread.scores.tolist() == scores.tolist()


def test_depth_cuts_each_input_and_the_output_keeps_1000():
    a = tf.Run.from_dict({"1661": {f"shot{i:05d}_1": -i for i in range(1, 1501)}}, tag="a")
    b = tf.Run.from_dict({"1661": {f"shot{i:05d}_2": -i for i in range(1, 1501)}}, tag="b")
    assert len(tf.fuse([a, b], method="rrf").topics["1661"].shots) == 1000
    shallow = tf.fuse([a, b], method="combsum", depth=2).topics["1661"].shots
    assert set(shallow) == {"shot00001_1", "shot00002_1", "shot00001_2", "shot00002_2"}


def test_a_topic_missing_from_one_run_is_fused_from_the_others():
    a = tf.Run.from_dict({"1661": {"shot00001_1": 1.0, "shot00002_1": 0.0}, "1662": {"shot00003_1": 2.0}})
    b = tf.Run.from_dict({"1661": {"shot00002_1": 5.0}})
    fused = tf.fuse([a, b], method="combmnz")
    # b's only shot normalises to 0 (max - min = 0), and still counts in MNZ
    assert fused.to_dict() == {"1661": {"shot00001_1": 1.0, "shot00002_1": 0.0}, "1662": {"shot00003_1": 0.0}}


def test_a_topic_spelt_two_ways_is_refused_not_fused_apart(tmp_path):
    # '01661' and '1661' were fused as two topics, each from one run: the scorer then skipped
    # 01661, so the 'fused' run scored as one of its inputs alone
    (tmp_path / "a.txt").write_text("01661 Q0 shot00001_1 1 1 a\n")
    (tmp_path / "b.txt").write_text("1661 Q0 shot00002_1 1 1 b\n")
    result = invoke("fuse", "--run-id", "f", "--out", tmp_path / "f.txt", tmp_path / "a.txt",
                    tmp_path / "b.txt", ok=False)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"b.txt: topic 1661 is written 01661 in {tmp_path / 'a.txt'}" in result.stderr
    assert not (tmp_path / "f.txt").exists()


def test_cli_writes_the_api_result(tmp_path, data_dir):
    runs = [data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz"]
    invoke("fuse", "--method", "weighted", "--weights", "1,2", "--norm", "zscore", "--run-id", "w",
           "--out", tmp_path / "w.txt", *runs)
    written = parse_run(tmp_path / "w.txt")
    api = tf.fuse([str(r) for r in runs], method="weighted", weights=[1, 2], norm="zscore")
    assert {t: r.shots for t, r in written.topics.items()} == {t: r.shots for t, r in api.topics.items()}
    assert written.tag == "w" and all(r.num_lines == 1000 for r in written.topics.values())


@pytest.mark.parametrize("args,message", [
    (["--method", "rrf", "--norm", "minmax"], "rrf fuses ranks"),
    (["--method", "weighted"], "one weight per run"),
    (["--method", "weighted", "--weights", "1,2,3"], "3 weight(s) for 2 runs"),
    (["--method", "combsum", "--weights", "1,2"], "weights go with --method weighted"),
])
def test_option_errors_are_one_line(tmp_path, data_dir, args, message):
    result = invoke("fuse", *args, "--run-id", "x", "--out", tmp_path / "x.txt",
                    data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz", ok=False)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_weight_grid_sums_to_one():
    grid = list(weight_grid(3, 0.25))
    assert len(grid) == 15 and all(abs(sum(w) - 1) < 1e-12 for w in grid) and len(set(grid)) == 15


@pytest.mark.slow       # scores every weighting of the grid on TV21
def test_tune_reports_the_best_weighting_of_the_grid(data_dir):
    runs = [str(data_dir / "tv21.runA.txt.gz"), str(data_dir / "tv21.runB.txt.gz")]
    result = invoke("fuse", "--tune", "--qrels", "tv21", "--grid-step", "0.5", *runs)
    best = max(((w, tf.score(tf.fuse(runs, method="weighted", weights=w), "tv21").loc[0, "infAP"])
                for w in [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]), key=lambda x: x[1])
    assert f"mean xinfAP {best[1]:.4f}" in result.output
    assert f": {best[0][0]:g},{best[0][1]:g}\n" in result.output
    assert "leakage" in result.output
