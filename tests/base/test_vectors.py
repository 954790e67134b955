"""The one normaliser and the one norm check (trecvid_fpig.base.vectors), against independent
references, and the same refusal of a direction-less row from every reader that uses them."""
import math

import numpy as np
import pytest
from support.cli import invoke

from trecvid_fpig.base.vectors import unit_float32, unit_row_norms
from trecvid_fpig.errors import InputError


def rows(seed=0, n=50, dim=37):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32) * 3


def test_float64_division_is_the_correctly_rounded_unit_vector():
    """Each value is the float64 quotient by the float64 norm, rounded once to float32."""
    values = rows()
    got = unit_float32(values)
    for row, out in zip(values.tolist(), got):
        norm = math.sqrt(math.fsum(v * v for v in row))
        want = np.array([v / norm for v in row], dtype=np.float32)
        # fsum may differ from a float64 sum in the last bit, which no float32 rounding sees
        assert np.array_equal(out, want)
    assert got.dtype == np.float32


def test_float32_division_keeps_the_bits_topic_features_always_had():
    values = rows(1)
    reference = values / np.linalg.norm(values, axis=1, keepdims=True)
    assert unit_float32(values, divide_in="float32").tobytes() == reference.tobytes()
    with pytest.raises(ValueError):
        unit_float32(values, divide_in="float16")


@pytest.mark.parametrize("bad, kind", [(0.0, "an all-zero"), (1e-9, "a"),
                                       (np.nan, "a NaN or infinite"),
                                       (np.inf, "a NaN or infinite")])
def test_norm_check_names_the_row(bad, kind):
    values = rows(2, n=4, dim=3).astype(np.float64)
    values[2] = bad
    with pytest.raises(InputError, match=f"^f.npy: shot s7 has {kind} feature vector"
                       + (" of L2 norm 1.73e-09, too short" if bad == 1e-9 else "")):
        unit_row_norms(values, lambda row: f"s{row}", "shot", "f.npy", first_row=5)


def test_float32_norms_refuse_a_row_too_large_to_square():
    values = np.full((1, 4), 3e19, dtype=np.float32)
    with pytest.raises(InputError, match="too large to square in float32"):
        unit_row_norms(values, str, "row", None, dtype=np.float32)
    assert unit_row_norms(values, str, "row", None)[0] == pytest.approx(6e19)


def test_convert_refuses_the_near_zero_row_that_extract_refuses(tmp_path):
    """`features convert` refused only an exact zero, so a 1e-9 row became a unit vector of
    noise that `features extract` would have refused: both now use the one check."""
    values = rows(3, n=3, dim=4)
    values[1] = 1e-9
    np.save(tmp_path / "x.npy", values)
    (tmp_path / "x.ids.txt").write_text("shot00001_1 shot00001_2 shot00001_3\n")
    result = invoke("features", "convert", tmp_path / "x.npy", tmp_path / "x.fpig", ok=False)
    assert result.exit_code == 2, result.output
    assert "row 1 (shot shot00001_2) has a feature vector of L2 norm 2e-09, too short" in result.stderr
    assert not (tmp_path / "x.fpig").exists()


# --- the one .npy loader and list-column reader (trecvid_fpig.formats.feature_files)


def feature_readers(path, tmp_path):
    """Every reader of a feature .npy: shot features (run, convert), recall's text features and
    topic features, each a call that reads `path` (ids and a video matrix beside it)."""
    from trecvid_fpig.evaluate.recall import recall_from_files
    from trecvid_fpig.formats.query_features import load_query_features
    from trecvid_fpig.formats.store import read_features
    from trecvid_fpig.formats.topics import TopicSet

    (tmp_path / "x.ids.txt").write_text("shot00001_1 shot00001_2\n")
    np.save(tmp_path / "v.npy", np.eye(2, dtype=np.float32))
    topics = TopicSet("mini", (611, 612), ("a dog", "a cat"), "mini.txt")
    return (lambda: read_features(path),
            lambda: recall_from_files(text_features=path, video_features=tmp_path / "v.npy",
                                      captions_per_video=1),
            lambda: load_query_features(path, topics))


@pytest.mark.parametrize("content, reason", [
    (b"", "not a readable .npy matrix"),                      # EOFError escaped read_features
    (b"\x93NUMPY\x01", "not a readable .npy matrix"),
    (None, "expected one .npy matrix, found an archive"),  # AttributeError in read_features
])
def test_every_npy_reader_refuses_a_broken_file_naming_it(tmp_path, content, reason):
    from trecvid_fpig.evaluate.recall import recall_from_files

    path = tmp_path / "x.npy"
    if content is None:
        with open(path, "wb") as fh:
            np.savez(fh, a=np.eye(2))
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=f"^{path}: ({reason}|neither a .npy array nor a Parq)"):
        recall_from_files(sims=path, captions_per_video=1)     # sims are told apart by magic
    for read in feature_readers(path, tmp_path):
        with pytest.raises(InputError, match=f"^{path}: {reason}"):
            read()


def test_recall_reads_a_list_column_as_features_are_read(tmp_path):
    """A ragged row of a similarity matrix's list column is named, as in a feature file."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from trecvid_fpig.evaluate.recall import load_sims

    good = pa.table({"row": pa.array([[1.0, 0.0], [0.0, 1.0]], pa.list_(pa.float32()))})
    pq.write_table(good, tmp_path / "s.parquet")
    loaded = load_sims(tmp_path / "s.parquet")
    assert loaded.dtype == np.float64 and np.array_equal(loaded, np.eye(2))
    ragged = pa.table({"row": pa.array([[1.0, 0.0], [0.0, 1.0], [1.0]], pa.list_(pa.float32()))})
    pq.write_table(ragged, tmp_path / "r.parquet", row_group_size=2)
    with pytest.raises(InputError, match="r.parquet: row 2 has 1 values, earlier rows have 2"):
        load_sims(tmp_path / "r.parquet")


@pytest.mark.parametrize("matrix, reason", [
    (np.ones((2, 2), dtype=np.int64), "expected a floating-point (topic )?feature matrix, got i"),
    (np.ones((2, 2, 2), dtype=np.float32), "expected a 2-D (topic )?feature matrix"),
    (np.ones((2, 0), dtype=np.float32), "empty (topic )?feature matrix"),
])
def test_every_feature_reader_takes_the_same_matrices(tmp_path, matrix, reason):
    """Recall took integer features that `run` and query features refused: one check now."""
    path = tmp_path / "x.npy"
    np.save(path, matrix)
    for read in feature_readers(path, tmp_path):
        with pytest.raises(InputError, match=f"^{path}: {reason}"):
            read()
