"""Fuzzing every text reader: hostile bytes give a clean InputError or a correct parse, never
another exception (a traceback is a toolkit bug, whatever the user's file holds).

Inputs mix valid lines with near misses built from the tokens that matter (BOMs, odd digits,
huge numbers, control and Unicode whitespace, NaN, quotes), plus raw bytes. Kept small: the
point is the variety of inputs, not their number.
"""
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trecvid_fpig.base.fields import split_fields
from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.recall import read_ground_truth
from trecvid_fpig.formats.qrels import parse_qrels
from trecvid_fpig.formats.query_features import load_query_features
from trecvid_fpig.formats.runs import parse_run
from trecvid_fpig.formats.store import convert_features, read_features
from trecvid_fpig.formats.topics import parse_topics
from trecvid_fpig.report.manifest import load_manifest

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

ODD_TOKENS = ["1661", "01661", "661", "+1", "-1", "0", "1", "2", "1e3", "nan", "inf", "-inf",
              "1_0", "\u00b2", "\u0661\u0666", "9" * 25, "Q0", "shot00001_1", "shot00001_1_3",
              "\ufeff1661", "\u00a0", "\u2028", "\x00", "\x01", "é", '"', "'", "#", "=", "[a]",
              "x" * 300, "0.5", "1.0e-400", "1e400", "tag"]
SEPARATORS = [" ", "  ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
              "\u2028", "\u3000", ""]


@st.composite
def fuzzed_lines(draw, good_lines):
    """Valid lines and near-miss lines, joined by odd separators, sometimes with a BOM or as
    arbitrary bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(good_lines)))
        else:
            tokens = draw(st.lists(st.sampled_from(ODD_TOKENS), max_size=7))
            seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(tokens),
                                 max_size=len(tokens)))
            parts.append("".join(t + s for t, s in zip(tokens, seps)))
    text = "\n".join(parts)
    prefix = "\ufeff" if draw(st.booleans()) else ""
    data = (prefix + text).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:
        import gzip
        data = gzip.compress(data)[:draw(st.integers(0, 200))]
    return data


def parses_or_input_error(reader, path, data):
    path.write_bytes(data)
    try:
        return reader(path)
    except InputError:
        return None


QRELS_LINES = ["1661 0 shot00001_1 1 1", "1661 0 shot00001_2 2 0", "1662 0 shot00002_1 1 -1",
               "01662 0 shot00002_2 1 0.5"]
RUN_LINES = ["1661 Q0 shot00001_1 1 0.9 t", "1661 Q0 shot00001_2 2 0.5 t",
             "01661 Q0 shot00001_3 1 0.1 t", "1662 Q0 shot00002_1 1 -0.7 t"]
TOPIC_LINES = ["661 a dog", "662 two cats on a sofa", "0663 x"]
GT_LINES = ["c1\tv1", "c2\tv1", "c3\tv2"]
IDS_LINES = ["shot00001_1", "shot00001_2", "shot00001_3"]


def plain_topic(topic):
    return topic.isascii() and topic.isdigit() and len(topic) <= 9


@FUZZ
@given(qrels=fuzzed_lines(QRELS_LINES), run=fuzzed_lines(RUN_LINES))
def test_qrels_and_run(tmp_path, qrels, run):
    q = parses_or_input_error(parse_qrels, tmp_path / "q", qrels)
    assert q is None or all(plain_topic(t) and tj.est_relevant >= 0 and np.isfinite(tj.ideal_dcg)
                            for t, tj in q.topics.items())
    r = parses_or_input_error(parse_run, tmp_path / "r", run)
    assert r is None or all(plain_topic(t) and np.all(np.isfinite(ranking.scores)) and
                            np.all(np.diff(ranking.scores) <= 0)     # by score, descending
                            for t, ranking in r.topics.items())


@FUZZ
@given(data=fuzzed_lines(TOPIC_LINES))
def test_topics(tmp_path, data):
    topics = parses_or_input_error(parse_topics, tmp_path / "t", data)
    if topics is not None:
        assert len(set(topics.ids)) == len(topics.ids) and all(topics.texts)
        assert all(0 <= i < 10 ** 9 for i in topics.ids)


@FUZZ
@given(data=fuzzed_lines(GT_LINES))
def test_ground_truth(tmp_path, data):
    gt = parses_or_input_error(read_ground_truth, tmp_path / "gt", data)
    if gt is not None:
        assert len(gt.caption_ids) == len(gt.caption_video)
        assert not gt.caption_ids or "\ufeff" not in gt.caption_ids[0]


@FUZZ
@given(data=fuzzed_lines(IDS_LINES))
def test_ids_file_of_a_npy(tmp_path, data):
    np.save(tmp_path / "x.npy", np.ones((3, 4), dtype=np.float32))
    (tmp_path / "x.ids.txt").write_bytes(data)
    try:
        features = read_features(tmp_path / "x.npy")
    except InputError:
        return
    assert len(features.ids) == 3 and all(len(i) <= 256 and split_fields(i) == [i] for i in features.ids)


MANIFEST_LINES = ['[[model]]', 'name = "m"', 'published = "p.toml"', '[model.trecvid]',
                  'tv21 = "r.txt"', '[model.recall]', '"1k-A" = "r.json"', 'baselines = ["a"]']


@FUZZ
@given(data=fuzzed_lines(MANIFEST_LINES))
def test_report_manifest(tmp_path, data):
    parses_or_input_error(load_manifest, tmp_path / "manifest.toml", data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 30, 10 ** 30) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@st.composite
def fuzzed_json(draw, good):
    """A valid object with fields replaced by arbitrary JSON, or arbitrary JSON/bytes."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=100))
    if choice == 1:
        return json.dumps(draw(JSON_VALUES)).encode()
    obj = dict(good)
    for key in draw(st.lists(st.sampled_from(sorted(good)), max_size=3)):
        obj[key] = draw(JSON_VALUES)
    return (("\ufeff" if draw(st.booleans()) else "") + json.dumps(obj)).encode()


@FUZZ
@given(data=fuzzed_json({"topic_ids": [662, 661], "max_words": 32, "features_sha256": None}))
def test_query_feature_sidecar(tmp_path, data):
    (tmp_path / "t.txt").write_text("661 a\n662 b\n")
    topics = parse_topics(tmp_path / "t.txt")
    np.save(tmp_path / "q.npy", np.ones((2, 4), dtype=np.float32))
    (tmp_path / "q.json").write_bytes(data)
    try:
        ids, rows = load_query_features(tmp_path / "q.npy", topics)
    except InputError:
        return
    assert rows.shape == (2, 4)


_STORE_MANIFEST = {}


@FUZZ
@given(data=st.data())
def test_store_manifest(tmp_path_factory, data):
    if not _STORE_MANIFEST:
        base = tmp_path_factory.mktemp("store")
        np.save(base / "x.npy", np.eye(3, 4, dtype=np.float32) + 0.5)
        (base / "x.ids.txt").write_text("shot00001_1\nshot00001_2\nshot00001_3\n")
        convert_features(base / "x.npy", base / "s.fpig")
        _STORE_MANIFEST["dir"] = base / "s.fpig"
        _STORE_MANIFEST["good"] = json.loads((base / "s.fpig" / "manifest.json").read_text())
    store = _STORE_MANIFEST["dir"]
    payload = data.draw(fuzzed_json(_STORE_MANIFEST["good"]))
    (store / "manifest.json").write_bytes(payload)
    try:
        features = read_features(store)
    except InputError:
        return
    assert features.count == 3 and features.ids[0] == "shot00001_1"
