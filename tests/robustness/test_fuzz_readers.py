"""Fuzzing every text reader: hostile bytes give a clean InputError or a correct parse, never
another exception (a traceback is a toolkit bug, whatever the user's file holds).

Inputs mix valid lines with near misses built from the tokens that matter (BOMs, odd digits,
huge numbers, control and Unicode whitespace, NaN, quotes), plus raw bytes. Kept small: the
point is the variety of inputs, not their number.
"""
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trecvid_fpig.base.fields import split_fields
from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.recall import read_ground_truth
from trecvid_fpig.evaluate.score import score_runs
from trecvid_fpig.evaluate.submission_rules import Expectations, check_run_file
from trecvid_fpig.extract.shots import read_boundaries, table_shots
from trecvid_fpig.formats.qrels import parse_qrels
from trecvid_fpig.formats.query_features import load_query_features
from trecvid_fpig.formats.runs import parse_run, read_any_run
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
def fuzzed_lines(draw, good_lines, header=None):
    """Valid lines and near-miss lines, joined by odd separators, sometimes with a BOM or as
    arbitrary bytes; a format with a `header` mostly starts with it, so its rows get read."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    parts = [header] if header is not None and draw(st.integers(0, 3)) else []
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


# --- TREC runs through scoring and runs check (XML: tests/robustness/test_hostile_runs.py) ----


@pytest.fixture(scope="module")
def judged():
    """A tiny qrels over topics 1661 and 1662, and tv21's topic set."""
    from trecvid_fpig.formats.topics import load_topics
    return parse_qrels_text(QRELS_LINES[:3]), load_topics("tv21")


def parse_qrels_text(lines):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q"
        path.write_text("\n".join(lines) + "\n")
        return parse_qrels(path)


def read_score_and_check(path, judged):
    """A run file through every reader of runs: the Run, scoring (plain and strict), runs check."""
    qrels, topics = judged
    run = parses_or_input_error(read_any_run, path, path.read_bytes())
    if run is not None:
        for strict in (False, True):
            try:
                scored, = score_runs(qrels, [run], strict=strict)
            except InputError:
                continue
            assert np.isfinite(scored.result.infAP)
    check_run_file(path, Expectations(topics))


@FUZZ
@given(data=fuzzed_lines(RUN_LINES))
def test_trec_run_scored_and_checked(tmp_path, judged, data):
    path = tmp_path / "run.txt"
    path.write_bytes(data)
    read_score_and_check(path, judged)


# --- shot lists: boundaries and shot tables ---------------------------------------------------

BOUNDARY_HEADER = "startframe\tstarttime\tendframe\tendtime"
BOUNDARY_LINES = [BOUNDARY_HEADER, "0\t0.0\t24\t1.0", "25\t1.04\t99\t4.1", "100 4.16 100 4.16",
                  "5\t0.2\t4\t0.1", "0\t0\t999999999999\t1"]


@FUZZ
@given(data=fuzzed_lines(BOUNDARY_LINES, BOUNDARY_HEADER))
def test_shot_boundaries(tmp_path, data):
    rows = parses_or_input_error(read_boundaries, tmp_path / "00001.tsv", data)
    assert rows is None or all(0 <= first <= last for first, last in rows)


TABLE_LINES = ["shot_id,video,start,end", "shot00001_1,v.mp4,0,1.5", "shot00001_1,v.mp4,1,1", "shot00001_2,v.mp4,1.5,3",
               'shot00002_1,"a,b.mp4",0,2', "shot00002_2,,0,nan"]


@FUZZ
@given(data=fuzzed_lines(TABLE_LINES, TABLE_LINES[0]), as_parquet=st.booleans())
def test_shot_table(tmp_path, data, as_parquet):
    """CSV as written; as Parquet, the CSV's cells (when pandas can read it) in typed columns."""
    path = tmp_path / "shots.csv"
    if as_parquet:
        import pandas as pd
        path.write_bytes(data)
        try:
            frame = pd.read_csv(path)
        except Exception:       # not a CSV pandas reads: nothing to turn into Parquet
            return
        path = tmp_path / "shots.parquet"
        try:
            frame.to_parquet(path)
        except Exception:       # a column pyarrow cannot hold (mixed types, a lone surrogate)
            return
        data = path.read_bytes()
    shots = parses_or_input_error(table_shots, path, data)
    assert shots is None or all(0 <= s.seconds[0] < s.seconds[1] for s in shots)


# --- feature files: npy, BigFile, Parquet and Arrow ------------------------------------------

def read_and_convert(source, tmp_path):
    """A feature source read, then every row read and checked by conversion to a new store."""
    import tempfile
    out = Path(tempfile.mkdtemp(dir=tmp_path)) / "s.fpig"
    try:
        features = read_features(source)
        convert_features(source, out)
    except InputError:
        return None
    assert features.count >= 1 and features.dim >= 1
    stored = read_features(out)
    assert np.all(np.isfinite(np.asarray(stored.matrix, dtype=np.float64)))
    return stored


@st.composite
def fuzzed_matrix(draw):
    """A small matrix of an odd dtype, shape or content."""
    if draw(st.booleans()):        # a valid float matrix of 3 rows, perhaps with odd values
        dtype = draw(st.sampled_from(["<f4", "<f2", "<f8"]))
        shape = draw(st.sampled_from([(3, 4), (3, 1), (3, 2)]))
    else:
        dtype = draw(st.sampled_from(["<f4", ">f4", "<f2", "<f8", "<i4", "|b1", "<c8", "|O"]))
        shape = draw(st.sampled_from([(3, 4), (3, 1), (0, 4), (3, 0), (3,), (3, 2, 2), ()]))
    values = draw(st.lists(st.sampled_from([1.0, -1.0, 0.5, 2.0, 0.25, -3.0]), min_size=1, max_size=12)
                  | st.lists(st.sampled_from([0.0, 1.0, -1.0, 0.5, np.nan, np.inf, 1e-30, 1e-45,
                                              1e30, 1e200, 1e300, 6e4, 7e4]), min_size=1, max_size=12))
    size = int(np.prod(shape)) if shape else 1
    flat = np.resize(np.array(values, dtype=np.float64), size)
    if dtype == "|O":
        return np.array(flat.tolist() if size else [], dtype=object).reshape(shape)
    with np.errstate(all="ignore"):
        return flat.astype(np.dtype(dtype)).reshape(shape)


@FUZZ
@given(matrix=fuzzed_matrix(), cut=st.integers(0, 400), ids=fuzzed_lines(IDS_LINES))
def test_npy_features(tmp_path, matrix, cut, ids):
    import io
    buffer = io.BytesIO()
    np.save(buffer, matrix, allow_pickle=True)
    raw = buffer.getvalue()
    (tmp_path / "x.npy").write_bytes(raw[:cut] if cut < len(raw) and cut % 3 == 0 else raw)
    (tmp_path / "x.ids.txt").write_bytes(ids if cut % 2 else "\n".join(IDS_LINES).encode())
    read_and_convert(tmp_path / "x.npy", tmp_path)


@FUZZ
@given(shape=fuzzed_lines(["3 4", "3\t4", "03 4"]), ids=fuzzed_lines(IDS_LINES), matrix=fuzzed_matrix(),
       extra=st.integers(-5, 5))
def test_bigfile_features(tmp_path, shape, ids, matrix, extra):
    import tempfile
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "shape.txt").write_bytes(shape)
    (folder / "id.txt").write_bytes(ids)
    raw = np.ascontiguousarray(matrix).tobytes() if matrix.dtype != object else b""
    (folder / "feature.bin").write_bytes(raw[:max(0, len(raw) + extra)] if extra < 0 else raw + b"\0" * extra)
    read_and_convert(folder, tmp_path)


@FUZZ
@given(matrix=fuzzed_matrix(), ids=st.lists(st.sampled_from(IDS_LINES + ["", "a b", None, "shot00001_1"]),
                                           min_size=0, max_size=4),
       kind=st.sampled_from(["parquet", "arrow", "feather", "stream.arrow"]),
       layout=st.sampled_from(["list", "fixed", "ragged", "no id", "int ids", "two lists", "nulls"]))
def test_parquet_and_arrow_features(tmp_path, matrix, ids, kind, layout):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [list(map(float, r)) for r in np.atleast_2d(matrix).astype(np.float64)] \
        if matrix.dtype.kind in "biuf" and matrix.ndim == 2 else [[1.0], [2.0, 3.0]]
    if layout == "ragged" and rows:
        rows[0] = rows[0] + [0.5]
    if layout == "nulls" and rows:
        rows[-1] = None
    ids = (ids + IDS_LINES)[:len(rows)] if len(ids) < len(rows) else ids[:len(rows)]
    vectors = pa.array(rows, type=pa.list_(pa.float32()))
    if layout == "fixed" and rows and all(r is not None and len(r) == len(rows[0]) for r in rows):
        vectors = pa.array(rows, type=pa.list_(pa.float32(), len(rows[0]) or 1)) if rows[0] else vectors
    columns = {"shot_id": pa.array(ids, type=pa.string()), "vector": vectors}
    if layout == "no id":
        columns = {"id": columns.pop("shot_id"), "vector": vectors}
    elif layout == "int ids":
        columns["shot_id"] = pa.array(range(len(rows)), type=pa.int64())
    elif layout == "two lists":
        columns["other"] = vectors
    table = pa.table(columns)
    path = tmp_path / f"x.{kind}"
    if kind == "parquet":
        pq.write_table(table, path)
    elif kind == "stream.arrow":
        with pa.ipc.new_stream(path, table.schema) as writer:
            writer.write_table(table)
    else:
        with pa.ipc.new_file(path, table.schema) as writer:
            writer.write_table(table)
    read_and_convert(path, tmp_path)


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".npy", ".parquet", ".arrow", ".feather"]))
@example(data=b"PK\x03\x04", suffix=".npy")     # a zip header: numpy takes it for an .npz
def test_feature_file_of_arbitrary_bytes(tmp_path, data, suffix):
    (tmp_path / f"x{suffix}").write_bytes(data)
    (tmp_path / "x.ids.txt").write_text("\n".join(IDS_LINES) + "\n")
    read_and_convert(tmp_path / f"x{suffix}", tmp_path)


# --- the CSV `plot sensitivity` reads -----------------------------------------------------------

SENSITIVITY_LINES = ["param,value,infAP", "param,value,infAP,series", "k,1,0.2", "k,10,0.25,a",
                     'k,"1e3",0.3', "alpha,0.5,nan", ",1,2", "k,1,0.2", "series,value,param,R@1",
                     '"k\n2",1,3', "k,-1,1e308"]


@FUZZ
@given(data=fuzzed_lines(SENSITIVITY_LINES, SENSITIVITY_LINES[0]))
@example(data=b"1661\r1661 ")      # a lone CR: csv.Error 'new-line character seen in unquoted field'
@example(data=b"param,value,infAP\nk,1,\"0.2")      # a quote left open
def test_sensitivity_csv(tmp_path, data):
    from trecvid_fpig.report.plots import read_sensitivity
    read = parses_or_input_error(read_sensitivity, tmp_path / "s.csv", data)
    assert read is None or all(np.isfinite(p.value) and np.isfinite(p.metric) for p in read.points)


def test_sensitivity_csv_with_cr_line_ends_reads_as_with_lf(tmp_path):
    """Old Mac line ends (a lone CR) end lines as LF does: the csv module needs newline=''."""
    from trecvid_fpig.report.plots import read_sensitivity
    text = "param,value,infAP\nk,1,0.2\nk,10,0.25\n"
    (tmp_path / "lf.csv").write_text(text)
    (tmp_path / "cr.csv").write_bytes(text.replace("\n", "\r").encode())
    assert read_sensitivity(tmp_path / "cr.csv") == read_sensitivity(tmp_path / "lf.csv")
