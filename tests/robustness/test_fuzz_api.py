"""Fuzzing the Python API's argument checks: whatever each argument of a public function or a
Run/Qrels method holds, the call returns or raises InputError, never another exception.

Each argument is drawn from its valid values mixed with hostile ones (wrong types, NaN,
infinity, huge and negative numbers, bools, text, NUL, nested containers, arrays, Series,
DataFrames, a Run where a path goes). Kept small and fast: the variety matters, not the count.
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trecvid_fpig as tf
from trecvid_fpig.errors import InputError

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

RUN = tf.Run.from_dict({"1661": {"shot00001_1": 0.9, "shot00002_1": 0.5}, 1662: {"shot00003_1": 1}})
SCALARS = st.sampled_from([None, True, False, 0, 1, -1, 2, 2.5, 5.0, 10 ** 30, -(10 ** 30), float("nan"),
                           float("inf"), -float("inf"), 1e-300, np.int64(3), np.float32(0.5), np.bool_(True),
                           "", "5", "1661", "tv21", "rrf", "a b", "a\x00b", "x" * 300, "-", b"bytes", "\u00b2",
                           "shot00001_1", object()])
HOSTILE = st.recursive(
    SCALARS | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (st.lists(inner, max_size=3) | st.tuples(inner, inner)
                   | st.dictionaries(st.one_of(st.text(max_size=5), st.integers(0, 3000)), inner, max_size=3)),
    max_leaves=6) | st.sampled_from([np.zeros((2, 2)), np.array(["a"]), np.full(4, np.nan),
                                     pd.Series({"shot00001_1": 1.0}), pd.DataFrame({"topic": [1]}),
                                     pd.DataFrame({"topic": ["1661"], "shot": [np.nan], "score": [1.0]}),
                                     RUN, tf.Qrels("q", {})])


def mixed(*good):
    """A valid value or a hostile one."""
    return st.one_of(st.sampled_from(good), HOSTILE) if good else HOSTILE


def returns_or_input_error(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except InputError as exc:
        assert "\n" not in str(exc)
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 6-shot store, a run file, a topic file, a qrels file and a similarity matrix (small
    files: the shipped qrels take a while to parse, 40 times over)."""
    base = tmp_path_factory.mktemp("api")
    np.save(base / "f.npy", np.eye(6, 4, dtype=np.float32) + 0.1)
    (base / "f.ids.txt").write_text("".join(f"shot{i:05d}_1\n" for i in range(1, 7)))
    RUN.to_trec(base / "run.txt")
    (base / "t.txt").write_text("661 a dog\n")
    (base / "q.txt").write_text("1661 0 shot00001_1 1 1\n1661 0 shot00002_1 1 0\n")
    np.save(base / "sims.npy", np.eye(3, dtype=np.float32))
    return {name: str(base / name) for name in ("f.npy", "run.txt", "t.txt", "q.txt", "sims.npy")} | {"dir": base}


VECTORS = [np.ones(4), [1, 2, 3, 4], np.ones(3), np.zeros(4)]


@FUZZ
@given(data=st.data())
def test_search(world, data):
    queries = data.draw(mixed({"1661": np.ones(4)}, {1661: [0.5, 1, 0, 2]}, {"1661": np.ones(3)},
                              {"1661": np.zeros(4)}))
    store = data.draw(mixed(world["f.npy"], world["run.txt"], world["dir"]))
    returns_or_input_error(tf.search, queries, store, k=data.draw(mixed(1, 3, 1000)),
                           tag=data.draw(mixed("run", "fused")))


@FUZZ
@given(data=st.data())
def test_fused_search(world, data):
    one = ({"1661": np.ones(4)}, world["f.npy"])
    model = data.draw(mixed(one, one + (0.5,), one + (data.draw(HOSTILE),),
                            (data.draw(HOSTILE), world["f.npy"]), (one[0], data.draw(HOSTILE))))
    models = data.draw(st.sampled_from([[model], [one, model], model, []]))
    returns_or_input_error(tf.fused_search, models, k=data.draw(mixed(2, 1000)),
                           tag=data.draw(mixed("fused")))


@FUZZ
@given(data=st.data())
def test_read_run_score_and_fuse(world, data):
    run = data.draw(mixed(RUN, world["run.txt"], {"1661": {"shot00001_1": 1.0}},
                          pd.DataFrame({"query_id": [1661], "doc_id": ["shot00001_1"], "score": [2]})))
    returns_or_input_error(tf.read_run, run, tag=data.draw(mixed("run")))
    runs = data.draw(mixed([RUN, world["run.txt"]], RUN, [run, RUN], [run]))
    returns_or_input_error(tf.score, runs, data.draw(mixed(world["q.txt"], world["run.txt"])),
                           per_topic=data.draw(mixed(False, True)),
                           measures=data.draw(mixed((), ["AP"], "P@10", ["nDCG@5", "bogus"])),
                           strict=data.draw(mixed(False, True)))
    returns_or_input_error(tf.fuse, data.draw(mixed([RUN, RUN], [RUN, run])),
                           method=data.draw(mixed("rrf", "combsum", "combmnz", "weighted")),
                           norm=data.draw(mixed(None, "none", "minmax", "zscore", "sum")),
                           weights=data.draw(mixed(None, [1, 0.5], [0, 0], [1])),
                           rrf_k=data.draw(mixed(60, 0, 1e300)), depth=data.draw(mixed(1000, 1)),
                           tag=data.draw(mixed("fused")))


@FUZZ
@given(data=st.data())
def test_run_and_qrels_methods(world, data):
    returns_or_input_error(tf.Run.from_file, data.draw(mixed(world["run.txt"], world["t.txt"])))
    returns_or_input_error(tf.Run.from_dict, data.draw(mixed({"1661": {"shot00001_1": 1}})),
                           tag=data.draw(mixed("run")))
    frame = data.draw(mixed(RUN.to_dataframe(), pd.DataFrame({"topic": ["1661", None], "shot": ["a", "b"]})))
    returns_or_input_error(tf.Run.from_dataframe, frame, tag=data.draw(mixed("run")),
                           topic=data.draw(mixed("topic", "rank")), shot=data.draw(mixed("shot")),
                           score=data.draw(mixed("score", "rank", "topic")))
    target = data.draw(mixed(str(world["dir"] / "out.txt"), world["dir"], world["dir"] / "no" / "x.txt"))
    returns_or_input_error(RUN.to_trec, target, tag=data.draw(mixed(None, "t")),
                           depth=data.draw(mixed(None, 1, 1000)))
    returns_or_input_error(tf.Qrels.from_file, data.draw(mixed(world["q.txt"], "tv19", world["run.txt"])))
    returns_or_input_error(tf.load_qrels, data.draw(mixed(world["q.txt"], world["t.txt"])))
    returns_or_input_error(tf.topics, data.draw(mixed("tv21", world["t.txt"], world["run.txt"])))


@FUZZ
@given(data=st.data())
def test_recall(world, data):
    sims = data.draw(mixed(None, np.eye(3, dtype=np.float32), world["sims.npy"], np.full((2, 2), np.nan)))
    features = data.draw(mixed(None, np.eye(3), np.ones((3, 2)), world["f.npy"]))
    returns_or_input_error(tf.recall, sims=sims, text_features=features,
                           video_features=data.draw(mixed(None, np.eye(3), features)),
                           captions_per_video=data.draw(mixed(None, 1, 3)),
                           gt=data.draw(mixed(None, world["t.txt"])), dsl=data.draw(mixed(False, True)),
                           dsl_temperature=data.draw(mixed(100.0, 1e-3)),
                           ks=data.draw(mixed((1, 5), [2], 1)), nan_as_lowest=data.draw(mixed(False, True)))


@FUZZ
@given(data=st.data())
def test_compare(world, data):
    """Refusals only: scoring real runs through compare's cache is the report tests' job."""
    returns_or_input_error(tf.compare, data.draw(mixed([world["run.txt"]], world["run.txt"], ())),
                           qrels=data.draw(mixed(None, "tv21")),
                           manifest=data.draw(mixed(None, world["t.txt"])),
                           models=data.draw(mixed((), ["a"])), years=data.draw(mixed((), "tv21")),
                           permutations=data.draw(mixed(10)), bootstrap=data.draw(mixed(10)),
                           seed=data.draw(mixed(0)), alpha=data.draw(mixed(0.05)))
