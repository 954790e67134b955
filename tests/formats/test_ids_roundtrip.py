"""Property: whatever ids the toolkit writes (runs, XML, stores) read back equal; ids it could not
read back are refused cleanly (an InputError, nothing written)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trecvid_fpig.base.ids import MAX_ID_CHARS, id_problem, run_topic_id
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.avs_xml import RunAttributes, parse_avs_xml, write_avs_xml
from trecvid_fpig.formats.runs import parse_run, run_from_dict, submission_run
from trecvid_fpig.formats.store import convert_features, read_store

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

#: Characters a reader may split on or XML cannot hold, and ones that are fine but tempting.
SEPARATORS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000"
CONTROLS = "\x00\x01\x08\x7f\x9f\ud800\udfff\ufffe\uffff"
TEMPTING = "&<>\"'#;,.:_-\u00e9\u0301\u200b\ufeff\u0661\uff11\U0001f600"

valid_shot = st.text(st.one_of(st.characters(), st.sampled_from(TEMPTING)), min_size=1,
                     max_size=24).filter(lambda s: id_problem(s) is None)
invalid_shot = st.one_of(
    st.just(""),
    st.text(min_size=MAX_ID_CHARS + 1, max_size=MAX_ID_CHARS + 3, alphabet="ab"),
    st.tuples(valid_shot, st.sampled_from(SEPARATORS + CONTROLS), st.text(max_size=3))
    .map("".join))
valid_topic = st.integers(1, 999)
scores = st.floats(-1e6, 1e6, allow_nan=False, width=64)


def _shot_scores(shots):
    return st.lists(scores, min_size=len(shots), max_size=len(shots)).map(
        lambda values: dict(zip(shots, values)))


valid_run = st.dictionaries(
    valid_topic.map(run_topic_id),
    st.lists(valid_shot, min_size=1, max_size=6, unique=True).flatmap(_shot_scores),
    min_size=1, max_size=4)


@SETTINGS
@given(run=valid_run)
def test_valid_runs_read_back_equal_as_trec_and_xml(tmp_path, run):
    built = run_from_dict(run, tag="t")
    built.to_trec(tmp_path / "r.txt")
    assert parse_run(tmp_path / "r.txt").to_dict() == built.to_dict() == {
        t: dict(sorted(s.items(), key=lambda kv: (kv[1], kv[0]), reverse=True))
        for t, s in sorted(run.items())}
    topics = [(int(t) - 1000, 1, r.shots) for t, r in built.topics.items()]
    write_avs_xml(tmp_path / "r.xml", RunAttributes(pid="p", desc="d"), topics)
    raw = (tmp_path / "r.xml").read_bytes()
    back = submission_run(parse_avs_xml(raw, "r.xml"), "r.xml", "t")
    assert {t: r.shots for t, r in back.topics.items()} == {
        t: r.shots for t, r in built.topics.items()}


@SETTINGS
@given(good=st.lists(valid_shot, min_size=0, max_size=4, unique=True), bad=invalid_shot,
       topic=valid_topic)
def test_invalid_shot_ids_are_refused_and_nothing_is_written(tmp_path, good, bad, topic):
    shots = dict.fromkeys(good + [bad], 1.0)
    with pytest.raises(InputError, match="shot id"):
        run_from_dict({run_topic_id(topic): shots})
    with pytest.raises(InputError, match="shot id"):
        write_avs_xml(tmp_path / "bad.xml", RunAttributes(pid="p", desc="d"),
                      [(topic, 1, list(shots))])
    assert not (tmp_path / "bad.xml").exists()


@SETTINGS
@given(topic=st.one_of(
    st.text(st.characters(), max_size=6).filter(
        lambda t: not (t.isascii() and t.isdigit() and len(t) <= 9)),
    st.integers(10 ** 9, 10 ** 12).map(str)))
def test_invalid_run_topics_are_refused(topic):
    with pytest.raises(InputError, match="topic"):
        run_from_dict({topic: {"shot00001_1": 1.0}})


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(valid_shot, min_size=1, max_size=5, unique=True))
def test_valid_store_ids_read_back_equal(tmp_path_factory, ids):
    tmp = tmp_path_factory.mktemp("store")
    np.save(tmp / "f.npy", np.eye(len(ids), 3, dtype=np.float32) + 0.5)
    (tmp / "f.ids.txt").write_text("".join(i + "\n" for i in ids), encoding="utf-8")
    convert_features(tmp / "f.npy", tmp / "f.fpig")
    assert list(read_store(tmp / "f.fpig").ids) == ids


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(good=st.lists(valid_shot, min_size=0, max_size=3, unique=True), bad=invalid_shot)
def test_invalid_store_ids_are_refused(tmp_path_factory, good, bad):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    assume(not any("\ud800" <= c <= "\udfff" for c in bad))   # Arrow cannot hold a lone surrogate
    tmp = tmp_path_factory.mktemp("store")
    ids = good + [bad]
    table = pa.table({"shot_id": ids, "features": [[1.0, 0.5]] * len(ids)})
    pq.write_table(table, tmp / "f.parquet")
    with pytest.raises(InputError, match="shot id"):
        convert_features(tmp / "f.parquet", tmp / "f.fpig")
    assert not (tmp / "f.fpig").exists()
