"""The Python API: NIST's numbers through `score`, runs in and out of memory, interop, a light import."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from support.sample_eval import nist_all, nist_per_topic

import trecvid_fpig as tf
from trecvid_fpig.evaluate.score import score_run
from trecvid_fpig.formats.runs import parse_run

HEAVY = ("pandas", "torch", "open_clip", "scipy", "matplotlib", "pyarrow", "av", "transformers")


def test_import_is_light():
    code = ("import sys, trecvid_fpig; trecvid_fpig.Run; trecvid_fpig.Qrels; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_public_names(data_dir, tmp_path):
    for name in ("Qrels", "Run", "load_qrels", "read_run", "score", "compare", "fuse", "recall", "search",
                 "topics", "browse"):
        assert name in tf.__all__ and callable(getattr(tf, name))
    # the subpackages of the same name, loaded after the package, must not shadow the functions
    import trecvid_fpig.browse.build  # noqa: F401
    import trecvid_fpig.search.topk  # noqa: F401
    assert callable(tf.topics) and callable(tf.search) and callable(tf.browse)
    with pytest.raises(tf.InputError, match="1 to 4 runs"):      # forwarded to api.browse
        tf.browse([data_dir / "tv21.runA.txt.gz"] * 5, "tv21", tmp_path / "site", keyframes=tmp_path)


@pytest.mark.parametrize("name", ["tv21.runA", "tv21.runB"])
def test_score_matches_nist_per_run_and_per_topic(data_dir, name):
    path = data_dir / f"{name}.txt.gz"
    frame = tf.score(str(path), "tv21")
    assert list(frame.columns[:9]) == ["run", "infAP", "infNDCG", "iP10", "iP100", "iP1000",
                                       "inum_rel", "inum_rel_ret", "num_ret"]
    ref = nist_all(data_dir, name)
    for measure in ("infAP", "infNDCG", "iP10", "iP100", "iP1000"):
        assert round(frame.loc[0, measure], 4) == ref[measure]
    per_topic = tf.score([path], tf.load_qrels("tv21"), per_topic=True)
    assert list(per_topic.columns[:10]) == ["run", "topic", "infAP", "infNDCG", "iP10", "iP100",
                                            "iP1000", "inum_rel", "inum_rel_ret", "num_ret"]
    ref_topics = nist_per_topic(data_dir, name)
    assert sorted(per_topic.topic) == sorted(ref_topics)
    for row in per_topic.itertuples():
        assert round(row.infAP, 4) == ref_topics[row.topic]["infAP"]
        assert row.num_ret == ref_topics[row.topic]["num_ret"]


def test_a_run_in_memory_scores_as_its_file(data_dir, tmp_path):
    path = data_dir / "tv21.runB.txt.gz"
    run = tf.read_run(str(path))
    from_dict = tf.Run.from_dict(run.to_dict(), tag="d")
    from_frame = tf.Run.from_dataframe(run.to_dataframe(), tag="f")
    run.to_trec(tmp_path / "b.txt")
    reread = parse_run(tmp_path / "b.txt")
    frame = tf.score([str(path), from_dict, from_frame, str(tmp_path / "b.txt")], "tv21", per_topic=True)
    assert frame.groupby("run").infAP.apply(tuple).nunique() == 1
    for topic, ranking in run.topics.items():
        assert from_dict.topics[topic].shots == from_frame.topics[topic].shots == ranking.shots
        assert reread.topics[topic].shots == ranking.shots[:1000]      # NIST reads no further
        assert reread.topics[topic].scores.tolist() == ranking.scores[:1000].tolist()


def test_a_dataframe_repeating_a_shot_reads_as_its_file(tmp_path):
    """A shot given twice keeps its last score and is listed as repeated, in a frame as in a
    file: the frame dropped the repeat silently, so score warned about the file only."""
    lines = [("1661", "shot00001_1", 0.2), ("1661", "shot00002_1", 0.5),
             ("1661", "shot00001_1", 0.9), ("1662", "shot00003_1", 0.1)]
    (tmp_path / "r.txt").write_text("".join(f"{t} Q0 {s} 1 {v} r\n" for t, s, v in lines))
    from_file = tf.read_run(str(tmp_path / "r.txt"))
    from_frame = tf.read_run(pd.DataFrame(lines, columns=["topic", "shot", "score"]))
    assert list(from_frame.topics) == list(from_file.topics)
    for topic, ranking in from_file.topics.items():
        got = from_frame.topics[topic]
        assert (got.shots, got.scores.tolist(), got.num_lines, got.repeated) == \
               (ranking.shots, ranking.scores.tolist(), ranking.num_lines, ranking.repeated)
    assert from_frame.topics["1661"].repeated == ("shot00001_1",)
    qrels = tf.load_qrels("tv21")
    assert score_run(qrels, from_frame).warnings == score_run(qrels, from_file).warnings != ()


def test_dataframe_with_ir_measures_columns_and_nist_tie_order():
    frame = pd.DataFrame({"query_id": ["1661"] * 3, "doc_id": ["shot00001_1", "shot00002_1", "shot00003_1"],
                          "score": [0.5, 0.5, 0.9]})
    run = tf.Run.from_dataframe(frame)
    assert run.topics["1661"].shots == ("shot00003_1", "shot00002_1", "shot00001_1")
    assert run.to_dataframe()["rank"].tolist() == [1, 2, 3]


def test_ir_measures_tuples_give_the_measure_score_reports(data_dir):
    import ir_measures

    path = str(data_dir / "tv21.runA.txt.gz")
    qrels, run = tf.load_qrels("tv21"), tf.read_run(path)
    expected = tf.score(path, qrels, measures=["P@10"]).loc[0, "P@10"]
    got = ir_measures.calc_aggregate([ir_measures.P @ 10], qrels.to_ir_measures(), run.to_ir_measures())
    assert got[ir_measures.P @ 10] == pytest.approx(expected)


@pytest.mark.slow       # ranx compiles its metrics with numba on first use
def test_ranx_objects_hold_the_same_judgments_and_scores(data_dir):
    ranx = pytest.importorskip("ranx")
    qrels, run = tf.load_qrels("tv21"), tf.read_run(str(data_dir / "tv21.runA.txt.gz"))
    ranx_run, ranx_qrels = run.to_ranx(), qrels.to_ranx()
    assert isinstance(ranx_run, ranx.Run) and isinstance(ranx_qrels, ranx.Qrels)
    assert ranx_run.to_dict()["1661"] == pytest.approx(run.to_dict()["1661"])
    frame = qrels.to_dataframe()
    judged = frame[(frame.judgment >= 0) & (frame.topic == "1661")]
    assert ranx_qrels.to_dict()["1661"] == {s: int(j) for s, j in zip(judged.shot, judged.judgment)}


def test_strict_lists_violations():
    run = tf.Run.from_dict({"1661": {"shot00001_1": 1.0}})
    frame = tf.score(run, "tv21", strict=True)
    assert frame.loc[0, "violations"] and "missing" in frame.loc[0, "violations"][0]


def test_recall_on_arrays_matches_a_hand_count_and_the_files(tmp_path):
    rng = np.random.default_rng(0)
    sims = rng.normal(size=(12, 12)).astype(np.float32)
    result = tf.recall(sims=sims, captions_per_video=1, ks=(1, 5))
    ranks = 1 + (sims > np.diag(sims)[:, None]).sum(axis=1)
    assert result["t2v"]["R@1"] == pytest.approx(100 * np.mean(ranks <= 1))
    assert result["t2v"]["R@5"] == pytest.approx(100 * np.mean(ranks <= 5))
    np.save(tmp_path / "s.npy", sims)
    from_file = tf.recall(sims=str(tmp_path / "s.npy"), captions_per_video=1, ks=(1, 5))
    assert from_file["t2v"] == result["t2v"] and from_file["v2t"] == result["v2t"]
    json.dumps(result)


def test_recall_on_feature_arrays_is_recall_on_their_cosines():
    rng = np.random.default_rng(1)
    text, video = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    sims = (unit(text) @ unit(video).T).astype(np.float32)
    assert tf.recall(text_features=text, video_features=video, captions_per_video=1)["t2v"] == \
        tf.recall(sims=sims, captions_per_video=1)["t2v"]


def test_feature_arrays_give_what_the_same_features_in_files_give(tmp_path):
    """float64 features were cast to float32 before normalising: other cosines than the files'."""
    rng = np.random.default_rng(3)
    text, video = rng.normal(size=(30, 7)), rng.normal(size=(10, 7))
    np.save(tmp_path / "t.npy", text)
    np.save(tmp_path / "v.npy", video)
    arrays = tf.recall(text_features=text, video_features=video, captions_per_video=3)
    files = tf.recall(text_features=str(tmp_path / "t.npy"), video_features=str(tmp_path / "v.npy"),
                      captions_per_video=3)
    del files["meta"]["inputs"]
    assert arrays == files


def test_search_ranks_by_cosine(tmp_path):
    rng = np.random.default_rng(2)
    matrix = rng.integers(-8, 8, size=(50, 4)).astype(np.float32) / 8
    ids = [f"shot{i:05d}_1" for i in range(1, 51)]
    np.save(tmp_path / "f.npy", matrix)
    (tmp_path / "f.ids.txt").write_text("\n".join(ids) + "\n")
    query = np.array([1.0, 0.5, 0.0, -0.25])
    run = tf.search({"1661": query}, str(tmp_path / "f.npy"), k=10)
    cos = (matrix @ query) / np.linalg.norm(matrix, axis=1) / np.linalg.norm(query)
    expected = sorted(zip(np.round(cos, 6), ids), reverse=True)[:10]
    assert run.topics["1661"].shots == tuple(s for _, s in expected)
    with pytest.raises(tf.InputError, match="topic 1662 has an all-zero feature"):
        tf.search({"1661": query, "1662": np.zeros(4)}, str(tmp_path / "f.npy"))


def test_fused_search_is_the_weighted_sum_of_cosines_over_every_shot(tmp_path):
    """Reference: the full float64 sum of the weighted cosines in numpy, cut at k afterwards."""
    rng = np.random.default_rng(3)
    ids = [f"shot{i:05d}_1" for i in range(1, 201)]
    stores, queries = [], []
    for m, dim in enumerate((8, 5)):
        matrix = rng.standard_normal((200, dim)).astype(np.float32)
        np.save(tmp_path / f"m{m}.npy", matrix)
        (tmp_path / f"m{m}.ids.txt").write_text("\n".join(ids) + "\n")
        stores.append(matrix)
        queries.append({t: rng.standard_normal(dim) for t in (1661, 1662)})
    weights = (1.0, 2.5)
    run = tf.fused_search([(queries[0], str(tmp_path / "m0.npy")),
                           (queries[1], str(tmp_path / "m1.npy"), weights[1])], k=15)
    for topic in (1661, 1662):
        total = np.zeros(200)
        for matrix, q, w in zip(stores, queries, weights):
            m64, q64 = matrix.astype(np.float64), np.asarray(q[topic], np.float32).astype(np.float64)
            total += w * (m64 @ q64) / np.linalg.norm(m64, axis=1) / np.linalg.norm(q64)
        expected = [ids[r] for r in np.argsort(-total, kind="stable")[:15]]
        assert list(run.topics[str(topic)].shots) == expected
    # A model alone is the plain search.
    alone = tf.fused_search([(queries[0], str(tmp_path / "m0.npy"))], k=15)
    assert alone.topics["1661"].shots == tf.search(queries[0], str(tmp_path / "m0.npy"),
                                                   k=15).topics["1661"].shots
    with pytest.raises(tf.InputError, match="model 2: its queries are for other topics"):
        tf.fused_search([(queries[0], str(tmp_path / "m0.npy")),
                         ({1661: queries[1][1661]}, str(tmp_path / "m1.npy"))])
    with pytest.raises(tf.InputError, match="model 2: the weight must be"):
        tf.fused_search([(queries[0], str(tmp_path / "m0.npy")),
                         (queries[1], str(tmp_path / "m1.npy"), -1)])
    with pytest.raises(tf.InputError, match="topic 1661: a query of shape"):
        tf.fused_search([(queries[1], str(tmp_path / "m0.npy"))])


def test_topics_frame(tmp_path):
    frame = tf.topics("tv21")
    assert list(frame.columns) == ["topic", "qrels_id", "text"]
    assert len(frame) == 20 and frame.loc[0, "qrels_id"] == "1661"
    (tmp_path / "t.txt").write_text("801 a dog\n802 a cat on a mat\n")
    assert tf.topics(str(tmp_path / "t.txt")).text.tolist() == ["a dog", "a cat on a mat"]


def test_bad_input_is_an_input_error():
    with pytest.raises(tf.InputError):
        tf.Run.from_dict({"abc": {"shot00001_1": 1.0}})
    with pytest.raises(tf.InputError):
        tf.Run.from_dict({"1661": {"shot00001_1": float("nan")}})


def test_a_nan_similarity_names_the_python_spelling_of_its_fix():
    """The refusal named only the CLI's --nan-as-lowest, which tf.recall does not take."""
    sims = np.array([[1.0, np.nan], [0.0, 1.0]])
    with pytest.raises(tf.InputError, match=r"^NaN similarity at row 0, column 1 \(0-based\); "
                                            r"--nan-as-lowest \(nan_as_lowest=True in Python\)"):
        tf.recall(sims=sims, captions_per_video=1)
    assert tf.recall(sims=sims, captions_per_video=1, nan_as_lowest=True)["meta"]["nan_as_lowest"]
