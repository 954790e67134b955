"""Feature stores: every input format converts and reads back; bad inputs are refused clearly."""
import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from trecvid_fpig.cli import cli
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.store import convert_features, read_features

N, D = 37, 8


def make_data(n=N, d=D, seed=0):
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, d)).astype(np.float32) * rng.uniform(0.5, 3, (n, 1)).astype(np.float32)
    ids = [f"shot{v:05d}_{s}" for v, s in zip(rng.permutation(n) + 1, rng.integers(1, 90, n))]
    return matrix, ids


def unit_rows(matrix):
    m = matrix.astype(np.float64)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def write_bigfile(directory, matrix, ids):
    directory.mkdir()
    matrix.astype(np.float32).tofile(directory / "feature.bin")
    (directory / "id.txt").write_text(" ".join(ids))
    (directory / "shape.txt").write_text(f"{len(ids)} {matrix.shape[1]}\n")
    return directory


def write_npy(path, matrix, ids, ids_name=None):
    np.save(path, matrix)
    (path.parent / (ids_name or path.with_suffix(".ids.txt").name)).write_text("\n".join(ids) + "\n")
    return path


def arrow_table(matrix, ids, fixed=True, value_type=pa.float32()):
    flat = pa.array(matrix.reshape(-1), type=value_type)
    if fixed:
        vectors = pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])
    else:
        offsets = pa.array(np.arange(0, matrix.size + 1, matrix.shape[1], dtype=np.int32))
        vectors = pa.ListArray.from_arrays(offsets, flat)
    return pa.table({"shot_id": pa.array(ids), "clip": vectors})


def write_parquet(path, matrix, ids, **kw):
    pq.write_table(arrow_table(matrix, ids, **kw), path, row_group_size=10)
    return path


def write_feather(path, matrix, ids, **kw):
    feather.write_feather(arrow_table(matrix, ids, **kw), path, chunksize=9)
    return path


def write_arrow_stream(path, matrix, ids):
    table = arrow_table(matrix, ids)
    with pa.ipc.new_stream(str(path), table.schema) as writer:
        for batch in table.to_batches(max_chunksize=11):
            writer.write_batch(batch)
    return path


SOURCES = {
    "bigfile": lambda tmp, m, ids: write_bigfile(tmp / "feats", m, ids),
    "npy": lambda tmp, m, ids: write_npy(tmp / "feats.npy", m, ids),
    "npy-float16": lambda tmp, m, ids: write_npy(tmp / "feats.npy", m.astype(np.float16), ids),
    "npy-plain-txt": lambda tmp, m, ids: write_npy(tmp / "feats.npy", m, ids, "feats.txt"),
    "parquet-fixed": lambda tmp, m, ids: write_parquet(tmp / "f.parquet", m, ids),
    "parquet-list": lambda tmp, m, ids: write_parquet(tmp / "f.parquet", m, ids, fixed=False),
    "parquet-float16": lambda tmp, m, ids: write_parquet(tmp / "f.parquet", m.astype(np.float16), ids,
                                                         value_type=pa.float16()),
    "feather": lambda tmp, m, ids: write_feather(tmp / "f.feather", m, ids),
    "arrow-stream": lambda tmp, m, ids: write_arrow_stream(tmp / "f.arrow", m, ids),
}


def source_values(kind, matrix):
    """What the source really holds (float16 sources are rounded)."""
    return matrix.astype(np.float16).astype(np.float32) if "float16" in kind else matrix


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_source_reads_exactly(tmp_path, kind):
    matrix, ids = make_data()
    source = SOURCES[kind](tmp_path, matrix, ids)
    features = read_features(source)
    assert features.ids == tuple(ids)
    assert (features.count, features.dim) == (N, D)
    np.testing.assert_array_equal(np.asarray(features.matrix, dtype=np.float32),
                                  source_values(kind, matrix))
    blocks = [b for _, b in features.blocks(5)]
    np.testing.assert_array_equal(np.concatenate(blocks).astype(np.float32),
                                  source_values(kind, matrix))
    assert [s for s, _ in features.blocks(5)] == list(range(0, N, 5))


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_convert_round_trip(tmp_path, kind, dtype):
    matrix, ids = make_data()
    source = SOURCES[kind](tmp_path, matrix, ids)
    result = CliRunner().invoke(cli, ["features", "convert", str(source), str(tmp_path / "s.fpig"),
                                      "--dtype", dtype, "--quiet"])
    assert result.exit_code == 0, result.output
    store = read_features(tmp_path / "s.fpig")
    assert store.format == "store" and store.normalized
    assert store.ids == tuple(ids)
    assert isinstance(store.matrix, np.memmap) and not store.matrix.flags.writeable
    expected = unit_rows(source_values(kind, matrix))
    tolerance = 1e-6 if dtype == "float32" else 1e-3
    np.testing.assert_allclose(store.matrix.astype(np.float64), expected, atol=tolerance)
    manifest = json.loads((tmp_path / "s.fpig" / "manifest.json").read_text())
    assert (manifest["count"], manifest["dim"], manifest["dtype"]) == (N, D, dtype)
    norms = np.linalg.norm(source_values(kind, matrix).astype(np.float64), axis=1)
    assert manifest["norms"]["min"] == pytest.approx(norms.min(), rel=1e-5)
    assert manifest["norms"]["max"] == pytest.approx(norms.max(), rel=1e-5)
    assert manifest["norms"]["mean"] == pytest.approx(norms.mean(), rel=1e-5)
    for record, path in zip(manifest["source"]["files"], read_features(source).files):
        assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    for name in ("features.npy", "ids.npy"):
        digest = hashlib.sha256((tmp_path / "s.fpig" / name).read_bytes()).hexdigest()
        assert manifest[name.replace(".npy", "_sha256")] == digest


def test_store_converts_to_float16_store(tmp_path):
    matrix, ids = make_data()
    convert_features(write_npy(tmp_path / "x.npy", matrix, ids), tmp_path / "a.fpig")
    convert_features(tmp_path / "a.fpig", tmp_path / "b.fpig", dtype="float16")
    store = read_features(tmp_path / "b.fpig")
    assert store.dtype == np.float16 and store.ids == tuple(ids)
    np.testing.assert_allclose(store.matrix.astype(np.float64), unit_rows(matrix), atol=1e-3)


def test_explicit_ids_file(tmp_path):
    matrix, ids = make_data()
    np.save(tmp_path / "x.npy", matrix)
    (tmp_path / "names.list").write_text(" ".join(ids))
    assert read_features(tmp_path / "x.npy", ids=tmp_path / "names.list").ids == tuple(ids)


@pytest.mark.parametrize("kind", sorted(k for k in SOURCES if not k.startswith("npy")) + ["store"])
def test_ids_for_a_source_with_its_own_ids_is_refused(tmp_path, kind):
    """--ids used to be read for .npy only: a BigFile, Parquet, Arrow or store source silently
    kept its own ids. Renamed ids would relabel every row, so it is refused, naming the source."""
    matrix, ids = make_data()
    if kind == "store":
        source = tmp_path / "s.fpig"
        convert_features(write_npy(tmp_path / "x.npy", matrix, ids), source)
    else:
        source = SOURCES[kind](tmp_path, matrix, ids)
    other = tmp_path / "other.ids.txt"
    other.write_text("".join(f"other{i}\n" for i in range(N)))
    for verb in (["convert", str(source), str(tmp_path / "new.fpig")], ["inspect", str(source)]):
        result = CliRunner().invoke(cli, ["features", *verb, "--ids", str(other)])
        assert result.exit_code == 2, result.output
        assert "--ids" in result.output and str(source) in result.output
        assert "carries its own" in result.output
    assert not (tmp_path / "new.fpig").exists()


def test_conversion_is_byte_identical(tmp_path):
    matrix, ids = make_data()
    source = write_bigfile(tmp_path / "bf", matrix, ids)
    convert_features(source, tmp_path / "a.fpig")
    convert_features(source, tmp_path / "b.fpig")
    for name in ("manifest.json", "features.npy", "ids.npy"):
        assert (tmp_path / "a.fpig" / name).read_bytes() == (tmp_path / "b.fpig" / name).read_bytes()


def test_overwrite_replaces_a_store_only_when_asked(tmp_path):
    matrix, ids = make_data()
    source = write_npy(tmp_path / "x.npy", matrix, ids)
    convert_features(source, tmp_path / "s.fpig")
    with pytest.raises(InputError, match="--overwrite"):
        convert_features(source, tmp_path / "s.fpig")
    convert_features(source, tmp_path / "s.fpig", dtype="float16", overwrite=True)
    assert read_features(tmp_path / "s.fpig").dtype == np.float16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.fpig", "x.ids.txt", "x.npy"]


@pytest.mark.parametrize("kind", ["npy", "parquet-list"])
def test_frames_pooled_by_mean_of_unit_vectors(tmp_path, kind):
    rng = np.random.default_rng(3)
    frame_ids, shots, rows = [], {}, []
    # Frames of one shot are not always next to each other.
    for frame, shot in enumerate(["shot00002_1", "shot00002_1", "shot00001_7", "shot00002_1",
                                  "shot00001_7", "shot00003_2"]):
        frame_ids.append(f"{shot}_{frame}")
        vec = rng.standard_normal(D) * (frame + 1)
        rows.append(vec)
        shots.setdefault(shot, []).append(vec / np.linalg.norm(vec))
    matrix = np.array(rows, dtype=np.float32)
    source = SOURCES[kind](tmp_path, matrix, frame_ids)
    result = CliRunner().invoke(cli, ["features", "convert", str(source), str(tmp_path / "s.fpig"),
                                      "--pool", "mean", "--quiet"])
    assert result.exit_code == 0, result.output
    store = read_features(tmp_path / "s.fpig")
    assert store.ids == ("shot00002_1", "shot00001_7", "shot00003_2")
    expected = unit_rows(np.array([np.mean(shots[s], axis=0) for s in store.ids]))
    np.testing.assert_allclose(store.matrix, expected, atol=1e-6)
    assert store.manifest["pool"] == {"method": "mean", "frames": 6}


def test_inspect_prints_the_manifest(tmp_path):
    matrix, ids = make_data()
    convert_features(write_npy(tmp_path / "x.npy", matrix, ids), tmp_path / "s.fpig")
    result = CliRunner().invoke(cli, ["features", "inspect", str(tmp_path / "s.fpig")])
    assert result.exit_code == 0, result.output
    fields = dict(line.split(None, 1) for line in result.output.splitlines() if line[:1].isalpha())
    assert fields["shots"].strip() == str(N) and fields["dtype"].strip() == "float32"
    assert ids[0] in result.output and "l2-normalised" in result.output
    as_json = CliRunner().invoke(cli, ["features", "inspect", "--json", str(tmp_path / "s.fpig")])
    assert json.loads(as_json.output)["count"] == N
    raw = CliRunner().invoke(cli, ["features", "inspect", str(tmp_path / "x.npy")])
    assert raw.exit_code == 0 and "normalised when searched" in raw.output


# ---- bad inputs: each is one clear line naming the file (and the row or id), exit code 2 ----

def _corrupt_row(value):
    def build(tmp):
        matrix, ids = make_data()
        matrix[11, 3] = value
        return write_npy(tmp / "x.npy", matrix, ids), ["row 11", ids[11]]
    return build


def _zero_row(tmp):
    matrix, ids = make_data()
    matrix[5] = 0
    return write_bigfile(tmp / "bf", matrix, ids), ["row 5", ids[5], "zero"]


def _duplicate_ids(tmp):
    matrix, ids = make_data()
    ids[20] = ids[4]
    return write_npy(tmp / "x.npy", matrix, ids), ["duplicate", ids[4], "rows 4 and 20", "x.ids.txt"]


def _bigfile_fewer_ids(tmp):
    matrix, ids = make_data()
    directory = write_bigfile(tmp / "bf", matrix, ids)
    (directory / "id.txt").write_text(" ".join(ids[:-1]))
    return directory, ["id.txt", f"{N - 1} ids", f"{N} rows"]


def _bigfile_short_bin(tmp):
    matrix, ids = make_data()
    directory = write_bigfile(tmp / "bf", matrix, ids)
    (directory / "feature.bin").write_bytes((directory / "feature.bin").read_bytes()[:-4])
    return directory, ["feature.bin", "bytes"]


def _bigfile_bad_shape(tmp):
    matrix, ids = make_data()
    directory = write_bigfile(tmp / "bf", matrix, ids)
    (directory / "shape.txt").write_text("37 x8")
    return directory, ["shape.txt:1", "N D"]


def _npy_more_ids(tmp):
    matrix, ids = make_data()
    return write_npy(tmp / "x.npy", matrix, ids + ["shot99999_1"]), ["x.ids.txt", f"{N + 1} ids"]


def _npy_without_ids(tmp):
    matrix, _ = make_data()
    np.save(tmp / "x.npy", matrix)
    return tmp / "x.npy", ["x.npy", "x.ids.txt", "--ids"]


def _npy_3d(tmp):
    np.save(tmp / "x.npy", np.ones((2, 3, 4), np.float32))
    return tmp / "x.npy", ["x.npy", "2-D"]


def _id_with_space(tmp):
    matrix, ids = make_data()
    ids[2] = "shot 1"
    table = arrow_table(matrix, ids)
    pq.write_table(table, tmp / "f.parquet")
    return tmp / "f.parquet", ["f.parquet", "row 2", "whitespace"]


def _id_with_control_character(tmp):
    matrix, ids = make_data()
    ids[5] = "shot00001_\x075"          # BEL: not whitespace, but no run file or XML can hold it
    pq.write_table(arrow_table(matrix, ids), tmp / "f.parquet")
    return tmp / "f.parquet", ["f.parquet", "row 5", "control character"]


def _parquet_without_id_column(tmp):
    matrix, ids = make_data()
    table = arrow_table(matrix, ids).rename_columns(["id", "clip"])
    pq.write_table(table, tmp / "f.parquet")
    return tmp / "f.parquet", ["f.parquet", "shot_id"]


def _parquet_ragged(tmp):
    matrix, ids = make_data()
    vectors = [list(map(float, row)) for row in matrix]
    vectors[30] = vectors[30][:-1]
    pq.write_table(pa.table({"shot_id": ids, "clip": pa.array(vectors, pa.list_(pa.float32()))}),
                   tmp / "f.parquet")
    return tmp / "f.parquet", ["f.parquet", "row 30", f"{D - 1} values"]


def _parquet_null_vector(tmp):
    matrix, ids = make_data()
    vectors = [list(map(float, row)) for row in matrix]
    vectors[7] = None
    pq.write_table(pa.table({"shot_id": ids, "clip": pa.array(vectors, pa.list_(pa.float32()))}),
                   tmp / "f.parquet")
    return tmp / "f.parquet", ["f.parquet", "row 7", "null"]


def _unknown_suffix(tmp):
    (tmp / "x.csv").write_text("a,b\n")
    return tmp / "x.csv", ["x.csv", "unknown feature format"]


def _missing(tmp):
    return tmp / "nowhere.npy", ["nowhere.npy", "no such file"]


def _empty_directory(tmp):
    (tmp / "empty").mkdir()
    return tmp / "empty", ["empty", "BigFile"]


BAD_SOURCES = {
    "nan": _corrupt_row(np.nan), "inf": _corrupt_row(np.inf), "zero-vector": _zero_row,
    "duplicate-ids": _duplicate_ids, "bigfile-id-count": _bigfile_fewer_ids,
    "bigfile-size": _bigfile_short_bin, "bigfile-shape": _bigfile_bad_shape,
    "npy-id-count": _npy_more_ids, "npy-no-ids": _npy_without_ids, "npy-3d": _npy_3d,
    "id-with-space": _id_with_space, "id-with-control": _id_with_control_character,
    "parquet-no-id": _parquet_without_id_column,
    "parquet-ragged": _parquet_ragged, "parquet-null": _parquet_null_vector,
    "unknown-format": _unknown_suffix, "missing": _missing, "empty-dir": _empty_directory,
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_source_is_refused(tmp_path, case):
    source, fragments = BAD_SOURCES[case](tmp_path)
    result = CliRunner().invoke(cli, ["features", "convert", str(source), str(tmp_path / "s.fpig"),
                                      "--quiet"])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.startswith("fpig-trecvid: error:") and "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert not (tmp_path / "s.fpig").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.fpig")]


def test_frame_id_without_frame_number_is_refused(tmp_path):
    matrix, _ = make_data(n=2)
    source = write_npy(tmp_path / "x.npy", matrix, ["shot00001_1_3", "keyframe"])
    with pytest.raises(InputError, match="'keyframe'.*_FRAME"):
        convert_features(source, tmp_path / "s.fpig", pool="mean")


def test_destination_that_is_not_a_store_is_left_alone(tmp_path):
    matrix, ids = make_data()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("mine")
    source = write_npy(tmp_path / "x.npy", matrix, ids)
    with pytest.raises(InputError, match="not a feature store"):
        convert_features(source, tmp_path / "data", overwrite=True)
    assert (tmp_path / "data" / "keep.txt").read_text() == "mine"


def test_tampered_store_is_refused(tmp_path):
    matrix, ids = make_data()
    convert_features(write_npy(tmp_path / "x.npy", matrix, ids), tmp_path / "s.fpig")
    manifest_path = tmp_path / "s.fpig" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["count"] = N + 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="features.npy.*manifest says"):
        read_features(tmp_path / "s.fpig")
    manifest_path.write_text("{not json")
    with pytest.raises(InputError, match="manifest.json:1: not valid JSON"):
        read_features(tmp_path / "s.fpig")
