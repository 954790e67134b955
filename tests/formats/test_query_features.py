"""q.npy + q.json: round trip, topic order, bare matrices, and every refused input."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from trecvid_fpig.errors import InputError, InputWarning
from trecvid_fpig.formats.query_features import (checkpoint_sha256, load_query_features,
                                                 save_query_features)
from trecvid_fpig.formats.topics import TopicSet

TOPICS = TopicSet("mini", (611, 612, 613), ("a dog", "a cat", "a car"), "mini.txt")


def _unit_rows(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _subset(topics: TopicSet, n: int) -> TopicSet:
    return TopicSet(topics.name, topics.ids[:n], topics.texts[:n], topics.source)


def test_round_trip_and_sidecar(tmp_path):
    feats = _unit_rows(3)
    out = save_query_features(tmp_path / "q.npy", feats, TOPICS,
                              {"topic_set": "mini", "max_words": 50, "checkpoint_sha256": "ab"})
    assert out == tmp_path / "q.npy"
    assert np.array_equal(np.load(out), feats) and np.load(out).dtype == np.float32
    side = json.loads((tmp_path / "q.json").read_text())
    assert side["topic_ids"] == ["611", "612", "613"] and side["dim"] == 8
    assert side["topic_set"] == "mini" and side["max_words"] == 50
    assert side["checkpoint_sha256"] == "ab" and "fpig_trecvid_version" in side
    assert side["features_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    ids, loaded = load_query_features(out, TOPICS)
    assert ids == TOPICS.ids
    np.testing.assert_allclose(loaded, feats, atol=1e-7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.json", "q.npy"]


def test_same_inputs_give_identical_bytes(tmp_path):
    for name in ("a", "b"):
        save_query_features(tmp_path / f"{name}.npy", _unit_rows(3), TOPICS, {"x": 1})
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_sidecar_order_is_mapped_to_topic_order(tmp_path):
    feats = _unit_rows(4)
    wider = TopicSet("wider", (613, 999, 611, 612), ("a car", "a bus", "a dog", "a cat"), "w.txt")
    save_query_features(tmp_path / "q.npy", feats, wider, {})
    ids, loaded = load_query_features(tmp_path / "q.npy", TOPICS)
    assert ids == (611, 612, 613)
    np.testing.assert_allclose(loaded, feats[[2, 3, 0]], atol=1e-7)


def test_sidecar_missing_a_topic(tmp_path):
    save_query_features(tmp_path / "q.npy", _unit_rows(2), _subset(TOPICS, 2), {})
    with pytest.raises(InputError, match="no features for topic.*613"):
        load_query_features(tmp_path / "q.npy", TOPICS)


def test_replaced_matrix_is_caught_by_the_sidecar(tmp_path):
    save_query_features(tmp_path / "q.npy", _unit_rows(3), TOPICS, {})
    np.save(tmp_path / "q.npy", _unit_rows(3, seed=1))
    with pytest.raises(InputError, match="sha256 differs") as err:
        load_query_features(tmp_path / "q.npy", TOPICS)
    assert err.value.path == str(tmp_path / "q.json")


def test_bare_npy_follows_topic_order_and_is_normalised(tmp_path):
    feats = _unit_rows(3) * np.array([[2.0], [0.5], [3.0]], dtype=np.float32)
    np.save(tmp_path / "bare.npy", feats.astype(np.float64))
    ids, loaded = load_query_features(tmp_path / "bare.npy", TOPICS)
    assert ids == TOPICS.ids and loaded.dtype == np.float32
    np.testing.assert_allclose(loaded, feats / np.linalg.norm(feats, axis=1, keepdims=True),
                               atol=1e-6)


def test_bare_npy_with_wrong_row_count(tmp_path):
    np.save(tmp_path / "bare.npy", _unit_rows(2))
    with pytest.raises(InputError, match="2 rows but mini has 3 topics"):
        load_query_features(tmp_path / "bare.npy", TOPICS)


@pytest.mark.parametrize("matrix, message", [
    (np.ones(3, dtype=np.float32), "2-D"),
    (np.ones((3, 2, 2), dtype=np.float32), "2-D"),
    (np.ones((3, 4), dtype=np.int64), "floating-point"),
    (np.array([[1, 0], [np.nan, 1], [1, 1]], dtype=np.float32), "row 1 holds NaN or inf"),
    (np.array([[1, 0], [1, 1], [np.inf, 1]], dtype=np.float32), "row 2 holds NaN or inf"),
    (np.array([[1, 0], [0, 0], [1, 1]], dtype=np.float32), "topic 612 has an all-zero"),
    (np.zeros((0, 4), dtype=np.float32), "empty topic feature matrix"),
])
def test_refused_matrices_name_the_file(tmp_path, matrix, message):
    path = tmp_path / "bad.npy"
    np.save(path, matrix)
    with pytest.raises(InputError, match=message) as err:
        load_query_features(path, TOPICS)
    assert err.value.path == str(path)


@pytest.mark.filterwarnings("error")
def test_a_value_beyond_float32_is_refused_as_such(tmp_path):
    """float64 1e300 is finite but inf in float32: it was cast with an overflow warning, then
    blamed as 'NaN or infinite'."""
    path = tmp_path / "big.npy"
    np.save(path, np.array([[1, 0], [1, 1], [1e300, 1]], dtype=np.float64))
    with pytest.raises(InputError, match=r"^\S*big.npy: row 2 holds a value beyond float32's "
                                         r"range, the topic features' type \(1 such rows\)"):
        load_query_features(path, TOPICS)


def test_garbage_missing_and_pickled_files(tmp_path):
    (tmp_path / "garbage.npy").write_bytes(b"not numpy at all")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for name in ("garbage.npy", "absent.npy", "objects.npy"):
        with pytest.raises(InputError) as err:
            load_query_features(tmp_path / name, TOPICS)
        assert err.value.path == str(tmp_path / name)


def test_bad_sidecar(tmp_path):
    save_query_features(tmp_path / "q.npy", _unit_rows(3), TOPICS, {})
    (tmp_path / "q.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable sidecar"):
        load_query_features(tmp_path / "q.npy", TOPICS)
    (tmp_path / "q.json").write_text(json.dumps({"topic_ids": [611, 612]}))
    with pytest.raises(InputError, match="lists 2 topics but q.npy has 3 rows"):
        load_query_features(tmp_path / "q.npy", TOPICS)


def test_output_must_be_npy(tmp_path):
    with pytest.raises(InputError, match=r"\.npy"):
        save_query_features(tmp_path / "q.json", _unit_rows(3), TOPICS, {})


def test_checkpoint_sha256(tmp_path):
    path = tmp_path / "ckpt.pt"
    path.write_bytes(bytes(range(256)) * 5000)
    assert checkpoint_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match="no such checkpoint"):
        checkpoint_sha256(tmp_path / "absent.pt")


def test_sidecar_ids_are_strings_and_old_integer_sidecars_still_read(tmp_path):
    rows = _unit_rows(3)
    save_query_features(tmp_path / "q.npy", rows, TOPICS, {})
    side = json.loads((tmp_path / "q.json").read_text())
    assert side["topic_ids"] == [str(t) for t in TOPICS.ids]
    new_ids, new = load_query_features(tmp_path / "q.npy", TOPICS)
    side["topic_ids"] = list(TOPICS.ids)[::-1]                  # an older sidecar: integers
    side["topic_text_sha256"] = side["topic_text_sha256"][::-1]
    (tmp_path / "q.json").write_text(json.dumps(side))
    old_ids, old = load_query_features(tmp_path / "q.npy", TOPICS)
    assert tuple(new_ids) == tuple(old_ids) == tuple(TOPICS.ids)
    assert np.array_equal(old, new[::-1])                       # rows follow the sidecar's ids
    side["topic_ids"] = ["611", "x", "613"]
    (tmp_path / "q.json").write_text(json.dumps(side))
    with pytest.raises(InputError, match="topic must be a number"):
        load_query_features(tmp_path / "q.npy", TOPICS)


def test_a_topic_whose_text_differs_is_refused_by_name(tmp_path):
    """Features of one topic file must not be used for another file's texts under the same ids."""
    save_query_features(tmp_path / "q.npy", _unit_rows(3), TOPICS, {})
    side = json.loads((tmp_path / "q.json").read_text())
    assert side["topic_text_sha256"] == [hashlib.sha256(t.encode()).hexdigest()
                                         for t in TOPICS.texts]
    other = TopicSet("other", TOPICS.ids, ("a dog", "a bicycle", "a car"), "other.txt")
    with pytest.raises(InputError, match=r"topic 612's text in other.txt \('a bicycle'\)") as err:
        load_query_features(tmp_path / "q.npy", other)
    assert err.value.path == str(tmp_path / "q.json")
    # a subset with the same texts, in another order, still reads
    same = TopicSet("same", (613, 611), ("a car", "a dog"), "same.txt")
    assert load_query_features(tmp_path / "q.npy", same)[0] == (613, 611)


def test_sidecar_without_text_hashes_reads_with_a_warning(tmp_path):
    save_query_features(tmp_path / "q.npy", _unit_rows(3), TOPICS, {})
    side = json.loads((tmp_path / "q.json").read_text())
    del side["topic_text_sha256"]                              # a sidecar from an older version
    (tmp_path / "q.json").write_text(json.dumps(side))
    with pytest.warns(InputWarning, match="matched to mini's topics by id only"):
        ids, _ = load_query_features(tmp_path / "q.npy", TOPICS)
    assert ids == TOPICS.ids
    side["topic_text_sha256"] = ["ab"]
    (tmp_path / "q.json").write_text(json.dumps(side))
    with pytest.raises(InputError, match="not one text hash per topic id"):
        load_query_features(tmp_path / "q.npy", TOPICS)


def test_run_refuses_features_of_other_texts_and_warns_on_old_sidecars(tmp_path):
    """`run --query-features q.npy --topics other.txt`: exit 2 naming the topic, not a run."""
    from support.cli import invoke

    from trecvid_fpig.formats.store import convert_features
    from trecvid_fpig.formats.topics import parse_topics

    np.save(tmp_path / "shots.npy", _unit_rows(30, seed=2))
    (tmp_path / "shots.ids.txt").write_text("".join(f"shot{i:05d}_1\n" for i in range(30)))
    convert_features(tmp_path / "shots.npy", tmp_path / "shots.fpig")
    (tmp_path / "a.txt").write_text("661 a dog\n662 a cat\n")
    (tmp_path / "b.txt").write_text("661 a dog\n662 a bicycle\n")
    save_query_features(tmp_path / "q.npy", _unit_rows(2), parse_topics(tmp_path / "a.txt"), {})

    def run(topics, out):
        return invoke("run", "--query-features", tmp_path / "q.npy", "--features",
                      tmp_path / "shots.fpig", "--topics", tmp_path / topics, "--run-id", "x",
                      "--out-dir", tmp_path / out, "--quiet", ok=False)

    assert run("a.txt", "a").exit_code == 0
    refused = run("b.txt", "b")
    assert refused.exit_code == 2 and "topic 662's text" in refused.stderr
    assert not (tmp_path / "b" / "x" / "b.txt").exists()
    side = json.loads((tmp_path / "q.json").read_text())
    del side["topic_text_sha256"]
    (tmp_path / "q.json").write_text(json.dumps(side))
    old = run("b.txt", "c")
    assert old.exit_code == 0
    assert old.stderr.startswith("fpig-trecvid: warning: ") and "by id only" in old.stderr
    assert old.stderr.count("\n") == 1


def test_a_zero_or_non_finite_row_is_not_written(tmp_path):
    """`encode` with a zero text projection wrote all-zero "unit" features with exit 0."""
    for bad in (0.0, np.nan):
        rows = _unit_rows(3)
        rows[1] = bad
        with pytest.raises(InputError, match="topic 612 has (an all-zero|a NaN)"):
            save_query_features(tmp_path / "q.npy", rows, TOPICS, {})
    assert list(tmp_path.iterdir()) == []
