"""Every public function checks its arguments: a wrong type or value is one InputError naming the
argument and what it accepts, never a TypeError, a ZeroDivisionError or a silent truncation."""
import numpy as np
import pandas as pd
import pytest

import trecvid_fpig as tf

VECTOR = np.ones(4, dtype=np.float32)
RUN = tf.Run.from_dict({"1661": {"shot00001_1": 0.9, "shot00002_1": 0.5}})
SHOT_FRAME = pd.DataFrame({"topic": ["1661"], "shot": ["shot00001_1"], "score": [1.0]})


@pytest.fixture
def store(tmp_path):
    np.save(tmp_path / "f.npy", np.eye(6, 4, dtype=np.float32) + 0.1)
    (tmp_path / "f.ids.txt").write_text("".join(f"shot{i:05d}_1\n" for i in range(1, 7)))
    return str(tmp_path / "f.npy")


CASES = {
    # the list
    "search k=2.5": (lambda s: tf.search({"1661": VECTOR}, s, k=2.5), r"k must be an integer \(at least 1\), got 2.5"),
    "search k='5'": (lambda s: tf.search({"1661": VECTOR}, s, k="5"), r"k must be an integer .*got '5' \(str\)"),
    "search [vec]": (lambda s: tf.search([VECTOR], s), r"queries must be a \{topic: vector\} mapping"),
    "compare Runs": (lambda s: tf.compare([RUN, RUN], qrels="tv21"), r"runs\[0\] must be a run file's path"),
    "compare one path": (lambda s: tf.compare("a.txt", qrels="tv21"), r"give at least 2 run file"),
    "to_trec depth=-1": (lambda s: RUN.to_trec(s + ".txt", depth=-1), r"depth must be an integer \(at least 1\)"),
    "fuse rrf_k=-1": (lambda s: tf.fuse([RUN, RUN], rrf_k=-1), r"rrf_k must be a finite number \(at least 0 and at most 1,000,000\)"),
    "fuse depth='5'": (lambda s: tf.fuse([RUN, RUN], depth="5"), r"depth must be an integer"),
    "frame without score": (lambda s: tf.read_run(SHOT_FRAME[["topic", "shot"]]), r"no 'score' column; it has 'shot', 'topic'"),
    "frame without topic": (lambda s: tf.Run.from_dataframe(SHOT_FRAME[["shot", "score"]]), r"no 'topic' \(or 'query_id'\) column"),
    "recall features array + path": (lambda s: tf.recall(text_features=np.eye(3), video_features=s, captions_per_video=1), r"video_features must be a numpy array, as the other features are"),
    "recall features 1-D": (lambda s: tf.recall(text_features=np.ones(3), video_features=np.eye(3), captions_per_video=1), r"expected a 2-D text_features matrix, got shape \(3,\)"),
    "recall features 0-D rows": (lambda s: tf.recall(text_features=np.ones((3, 0)), video_features=np.ones((3, 0)), captions_per_video=1), r"empty text_features matrix"),
    "recall features zero row": (lambda s: tf.recall(text_features=np.zeros((3, 3)), video_features=np.eye(3), captions_per_video=1), r"text_features row 0 \(0-based\) has"),
    "recall features dims": (lambda s: tf.recall(text_features=np.eye(3), video_features=np.eye(3, 4), captions_per_video=1), r"3-dimensional text_features but 4-dimensional video_features"),
    "search complex query": (lambda s: tf.search({"1661": VECTOR + 1j}, s), r"queries\['1661'\] must be a vector of numbers"),
    "search string query": (lambda s: tf.search({"1661": ["1", "0", "0", "0"]}, s), r"queries\['1661'\] must be a vector of numbers"),
    "search query past float32": (lambda s: tf.search({"1661": np.full(4, 1e300)}, s), r"queries\['1661'\] has a value beyond float32's range"),
    "dict of Series": (lambda s: tf.read_run({"1661": pd.Series({"shot00001_1": 1.0})}), r"scores\['1661'\] must be a \{shot: score\} mapping"),
    "recall cpv=1.5": (lambda s: tf.recall(sims=np.eye(3, dtype=np.float32), captions_per_video=1.5), r"captions_per_video must be an integer"),
    "recall ks=[nan]": (lambda s: tf.recall(sims=np.eye(3, dtype=np.float32), captions_per_video=1, ks=[float("nan")]), r"ks\[0\] must be an integer"),
    # siblings
    "search k=True": (lambda s: tf.search({"1661": VECTOR}, s, k=True), r"k must be an integer"),
    "search vector of text": (lambda s: tf.search({"1661": ["a", "b"]}, s), r"queries\['1661'\] must be a vector of numbers"),
    "search topic 1661 twice": (lambda s: tf.search({"1661": VECTOR, 1661: VECTOR}, s), r"a topic given twice"),
    "search store=None": (lambda s: tf.search({"1661": VECTOR}, None), r"store must be a path"),
    "search tag with a space": (lambda s: tf.search({"1661": VECTOR}, s, tag="a b"), r"run tag must be one word"),
    "fused_search a dict": (lambda s: tf.fused_search({"a": 1}), r"models must be a list of \(queries, store\)"),
    "fused_search a bare store": (lambda s: tf.fused_search([s]), r"models\[0\] must be \(queries, store\)"),
    "fused_search an array weight": (lambda s: tf.fused_search([({"1661": VECTOR}, s, np.zeros((2, 2)))]), r"model 1: the weight must be a finite number \(above 0\), got array\(\[\[0., 0.\], \[0., 0.\]\]\)"),
    "fused_search k=0": (lambda s: tf.fused_search([({"1661": VECTOR}, s)], k=0), r"k must be an integer \(at least 1\), got 0"),
    "score runs=5": (lambda s: tf.score(5, "tv21"), r"runs must be a run file's path, a Run"),
    "score runs=[5]": (lambda s: tf.score([5], "tv21"), r"runs\[0\] must be a run file's path"),
    "score qrels=5": (lambda s: tf.score(RUN, 5), r"qrels must be a shipped qrels name"),
    "score per_topic='no'": (lambda s: tf.score(RUN, "tv21", per_topic="no"), r"per_topic must be True or False"),
    "score measures=[5]": (lambda s: tf.score(RUN, "tv21", measures=[5]), r"measures\[0\] must be a string"),
    "load_qrels None": (lambda s: tf.load_qrels(None), r"qrels must be a shipped qrels name"),
    "Qrels.from_file 5": (lambda s: tf.Qrels.from_file(5), r"qrels must be a shipped qrels name"),
    "read_run None": (lambda s: tf.read_run(None), r"run must be a run file's path"),
    "read_run tag=5": (lambda s: tf.read_run(RUN, tag=5), r"tag must be a string"),
    "read_run NUL path": (lambda s: tf.read_run("a\x00b"), r"run must be a run file's path"),
    "Qrels.from_file a 300-byte name": (lambda s: tf.Qrels.from_file("x" * 300), r"qrels must be .* whose names are at most 255 bytes"),
    "search a 300-byte store name": (lambda s: tf.search({"1661": VECTOR}, "d/" + "x" * 300), r"store must be a path .* at most 255 bytes"),
    "from_dict a list": (lambda s: tf.Run.from_dict([("1661", {})]), r"scores must be a \{topic: \{shot: score\}\} mapping"),
    "from_dict text score": (lambda s: tf.Run.from_dict({"1661": {"shot00001_1": "0.5"}}), r"scores\['1661'\]\['shot00001_1'\] must be a finite number"),
    "from_dict bool score": (lambda s: tf.Run.from_dict({"1661": {"shot00001_1": True}}), r"must be a finite number"),
    "from_dict int shot": (lambda s: tf.Run.from_dict({"1661": {5: 1.0}}), r"a shot id in scores\['1661'\] must be a string"),
    "from_dataframe a dict": (lambda s: tf.Run.from_dataframe({"topic": []}), r"frame must be a pandas DataFrame"),
    "from_dataframe text scores": (lambda s: tf.Run.from_dataframe(SHOT_FRAME.assign(score=["high"])), r"column 'score', row 0 must be a finite number"),
    "from_file 5": (lambda s: tf.Run.from_file(5), r"path must be a path"),
    "to_trec depth=2.0": (lambda s: RUN.to_trec(s + ".txt", depth=2.0), r"depth must be an integer"),
    "to_trec path=None": (lambda s: RUN.to_trec(None), r"path must be a path"),
    "topics 661": (lambda s: tf.topics(661), r"name must be a shipped topic set"),
    "fuse method=5": (lambda s: tf.fuse([RUN, RUN], method=5), r"method must be one of 'rrf', 'combsum'"),
    "fuse norm='l2'": (lambda s: tf.fuse([RUN, RUN], method="combsum", norm="l2"), r"norm must be one of 'minmax'"),
    "fuse weights text": (lambda s: tf.fuse([RUN, RUN], method="weighted", weights=["1", "2"]), r"weights\[0\] must be a finite number"),
    "fuse weights=1": (lambda s: tf.fuse([RUN, RUN], method="weighted", weights=1), r"weights must be a list of numbers"),
    "fuse rrf_k=inf": (lambda s: tf.fuse([RUN, RUN], rrf_k=float("inf")), r"rrf_k must be a finite number"),
    "compare seed=-5": (lambda s: tf.compare(["a", "b"], qrels="tv21", seed=-5), r"seed must be an integer \(at least 0 and at most 4,294,967,295\)"),
    "compare bootstrap=1e12": (lambda s: tf.compare(["a", "b"], qrels="tv21", bootstrap=10 ** 12), r"bootstrap must be an integer \(at least 1 and at most 1,000,000\)"),
    "compare alpha=1": (lambda s: tf.compare(["a", "b"], qrels="tv21", alpha=1), r"alpha must be a finite number \(above 0 and below 1\)"),
    "compare qrels=Qrels": (lambda s: tf.compare(["a", "b"], qrels=tf.Qrels("q", {})), r"qrels must be a shipped qrels name \(tv21\) or a qrels file's path"),
    "compare models=[1]": (lambda s: tf.compare(manifest="m.toml", models=[1]), r"models\[0\] must be a string"),
    "recall sims list": (lambda s: tf.recall(sims=[[1.0]], captions_per_video=1), r"sims must be a path or a numpy array"),
    "recall dsl=1": (lambda s: tf.recall(sims=np.eye(3, dtype=np.float32), captions_per_video=1, dsl=1), r"dsl must be True or False"),
    "recall temperature=0": (lambda s: tf.recall(sims=np.eye(3, dtype=np.float32), captions_per_video=1, dsl_temperature=0), r"dsl_temperature must be a finite number \(above 0\)"),
    "recall ks='1,5'": (lambda s: tf.recall(sims=np.eye(3, dtype=np.float32), captions_per_video=1, ks="1,5"), r"ks must be a positive integer or a list of them"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_wrong_argument_is_one_input_error_naming_it(name, store):
    call, message = CASES[name]
    with pytest.raises(tf.InputError, match=message) as caught:
        call(store)
    assert "\n" not in str(caught.value)


def test_right_arguments_of_other_numeric_types_are_taken(store, tmp_path):
    """numpy integers and floats are what arrays hand out: they are accepted as ints and floats."""
    run = tf.search({np.int64(1661): VECTOR}, store, k=np.int32(3))
    assert len(run.topics["1661"].shots) == 3
    assert tf.fuse([RUN, RUN], rrf_k=np.float32(10), depth=np.int64(1)).topics["1661"].shots == ("shot00001_1",)
    assert tf.recall(sims=np.eye(3, dtype=np.float32), captions_per_video=np.int64(1), ks=5)["meta"]["ks"] == [5]
    assert tf.score(RUN, "tv21", measures="P@10").columns[-1] == "P@10"


def test_no_queries_are_an_empty_run_in_search_and_fused_search(store):
    """fused_search of {} failed inside numpy ('need at least one array to concatenate')."""
    assert tf.search({}, store).topics == {}
    assert tf.fused_search([({}, store), ({}, store, 2)]).topics == {}


def test_to_trec_depth_keeps_that_many_shots_and_none_keeps_all(tmp_path):
    RUN.to_trec(tmp_path / "one.txt", depth=1)
    RUN.to_trec(tmp_path / "all.txt", depth=None)
    assert tf.read_run(str(tmp_path / "one.txt")).topics["1661"].shots == ("shot00001_1",)
    assert tf.read_run(str(tmp_path / "all.txt")).topics["1661"].shots == RUN.topics["1661"].shots


@pytest.mark.parametrize("column", ["score", "shot"])
@pytest.mark.parametrize("read", [tf.read_run, tf.Run.from_dataframe])
def test_a_dataframe_holding_a_column_twice_is_refused_naming_it(read, column):
    """pandas hands both columns out as one frame: two scores were a TypeError, two shots
    read the column names as shot ids."""
    frame = pd.concat([SHOT_FRAME, SHOT_FRAME[[column]]], axis=1)
    with pytest.raises(tf.InputError, match=f"^the DataFrame has 2 columns named '{column}': "
                                            f"keep one$"):
        read(frame)
