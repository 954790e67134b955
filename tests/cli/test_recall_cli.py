"""`fpig-trecvid recall`: every input kind and output format, and one clear error per bad input."""
import csv
import io
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from trecvid_fpig.cli import cli
from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.recall import recall_metrics


def run(*args):
    return CliRunner().invoke(cli, ["recall", *map(str, args)])


@pytest.fixture
def matrix():
    """60 captions x 20 videos, three captions a video, contiguous; no ties."""
    rng = np.random.default_rng(11)
    x = rng.permutation(1200).reshape(60, 20).astype(np.float32) / 1200
    x[np.arange(60), np.arange(60) // 3] += np.float32(0.3)
    return x


@pytest.fixture
def sims_npy(tmp_path, matrix):
    path = tmp_path / "sims.npy"
    np.save(path, matrix)
    return path


def expected(matrix, **kwargs):
    return recall_metrics(matrix, **kwargs)


# --- formats


def test_json_is_the_contract(sims_npy, matrix):
    result = run("--sims", sims_npy, "--captions-per-video", 3, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert list(payload) == ["t2v", "v2t", "meta"]
    assert list(payload["t2v"]) == ["R@1", "R@5", "R@10", "MdR", "MnR"]
    want = expected(matrix, captions_per_video=3)
    assert payload["t2v"] == want["t2v"] and payload["v2t"] == want["v2t"]
    assert payload["meta"]["inputs"] == {"sims": str(sims_npy)}
    assert payload["meta"]["sims_xxh3_128"] == want["meta"]["sims_xxh3_128"]
    assert payload["meta"]["shape"] == [60, 20]


def test_table_csv_markdown_show_both_directions(sims_npy, matrix):
    want = expected(matrix, captions_per_video=3)
    table = run("--sims", sims_npy, "--captions-per-video", 3)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["direction", "R@1", "R@5", "R@10", "MdR", "MnR", "queries"]
    assert lines[2].split()[0] == "t2v" and lines[3].split()[0] == "v2t"
    assert lines[2].split()[1] == f"{want['t2v']['R@1']:.2f}"
    assert lines[3].split()[-1] == "20"

    out = run("--sims", sims_npy, "--captions-per-video", 3, "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["direction"] for r in rows] == ["t2v", "v2t"]
    assert float(rows[1]["MnR"]) == pytest.approx(want["v2t"]["MnR"], abs=0.005)
    assert rows[0]["queries"] == "60"

    md = run("--sims", sims_npy, "--captions-per-video", 3, "--format", "markdown").output
    assert md.splitlines()[0].startswith("| direction | R@1 |")
    assert md.splitlines()[2].startswith("| t2v |")


def test_out_writes_the_same_bytes_and_prints_nothing(sims_npy, tmp_path):
    printed = run("--sims", sims_npy, "--captions-per-video", 3, "--format", "json").output
    target = tmp_path / "sub" / "recall.json"
    result = run("--sims", sims_npy, "--captions-per-video", 3, "--format", "json",
                 "--out", target)
    assert result.exit_code == 0 and result.output == ""
    assert target.read_text() == printed
    assert [p.name for p in target.parent.iterdir()] == ["recall.json"]


def test_dsl_and_ks_options(sims_npy, matrix):
    out = run("--sims", sims_npy, "--captions-per-video", 3, "--dsl", "--dsl-temperature", 50,
              "--ks", "1,5,10,50", "--format", "json").output
    payload = json.loads(out)
    want = expected(matrix, captions_per_video=3, dsl=True, dsl_temperature=50.0,
                    ks=(1, 5, 10, 50))
    assert payload["t2v"] == want["t2v"] and payload["v2t"] == want["v2t"]
    assert list(payload["v2t"])[:4] == ["R@1", "R@5", "R@10", "R@50"]
    assert payload["meta"]["dsl"] is True and payload["meta"]["dsl_temperature"] == 50.0


def test_nan_as_lowest_flag(tmp_path, matrix):
    matrix[4, 7] = np.nan
    path = tmp_path / "nan.npy"
    np.save(path, matrix)
    payload = json.loads(run("--sims", path, "--captions-per-video", 3, "--nan-as-lowest",
                             "--format", "json").output)
    assert payload["meta"]["nan_values"] == 1
    assert payload["t2v"] == expected(matrix, captions_per_video=3, nan_as_lowest=True)["t2v"]


# --- inputs


def test_parquet_one_column_per_video_and_list_column(tmp_path, matrix):
    import pyarrow as pa
    import pyarrow.parquet as pq

    want = expected(matrix, captions_per_video=3)
    wide = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"v{j}": matrix[:, j] for j in range(20)}), wide)
    rows = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"sims": [list(map(float, r)) for r in matrix]}), rows)
    for path in (wide, rows):
        out = run("--sims", path, "--captions-per-video", 3, "--format", "json").output
        payload = json.loads(out)
        assert payload["t2v"] == want["t2v"] and payload["v2t"] == want["v2t"]


def write_gt(path, pairs):
    path.write_text("".join(f"{c}\t{v}\n" for c, v in pairs))
    return path


def test_gt_file_maps_lines_to_rows_and_first_appearance_to_columns(tmp_path, matrix):
    # Interleave the captions (line i is caption order[i], of video order[i] // 3) and put the
    # columns in the order the gt first mentions each video: the same retrieval problem.
    order = np.random.default_rng(12).permutation(60)
    first_seen = list(dict.fromkeys(int(i) // 3 for i in order))
    assert first_seen != sorted(first_seen)
    sims = tmp_path / "sims.npy"
    np.save(sims, matrix[order][:, first_seen])
    gt = write_gt(tmp_path / "gt.txt", [(f"c{i}", f"video{i // 3}") for i in order])
    payload = json.loads(run("--sims", sims, "--gt", gt, "--format", "json").output)
    want = expected(matrix, captions_per_video=3)
    assert payload["t2v"] == want["t2v"] and payload["v2t"] == want["v2t"]
    assert payload["meta"]["inputs"]["gt"] == str(gt)


def unit_features(n, dim, seed):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, dim))
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def test_npy_features_compute_the_cosine_matrix(tmp_path):
    text, video = unit_features(40, 16, 13), unit_features(20, 16, 14)
    text[np.arange(40)] += 2 * video[np.arange(40) // 2]      # caption i describes video i // 2
    np.save(tmp_path / "t.npy", (3 * text).astype(np.float32))  # scale is normalised away
    np.save(tmp_path / "v.npy", video.astype(np.float32))
    out = run("--text-features", tmp_path / "t.npy", "--video-features", tmp_path / "v.npy",
              "--captions-per-video", 2, "--format", "json").output
    payload = json.loads(out)
    cosine = (text / np.linalg.norm(text, axis=1, keepdims=True)) @ video.T
    want = expected(cosine, captions_per_video=2)
    assert payload["t2v"] == want["t2v"] and payload["v2t"] == want["v2t"]
    assert payload["meta"]["inputs"]["text_shape"] == [40, 16]


def write_bigfile(directory, ids, features):
    directory.mkdir()
    (directory / "shape.txt").write_text(f"{len(ids)} {features.shape[1]}\n")
    (directory / "id.txt").write_text(" ".join(ids) + "\n")
    features.astype(np.float32).tofile(directory / "feature.bin")
    return directory


def test_bigfile_features_are_looked_up_by_the_gt_ids(tmp_path):
    text, video = unit_features(30, 8, 15), unit_features(10, 8, 16)
    text += 2 * video[np.arange(30) % 10]                      # caption i describes video i % 10
    caption_ids = [f"video{i % 10}#{i // 10}" for i in range(30)]
    video_ids = [f"video{j}" for j in range(10)]
    # The stores list their rows in another order, and hold an id the gt does not use.
    t_order, v_order = np.random.default_rng(17).permutation(30), np.arange(10)[::-1]
    write_bigfile(tmp_path / "text", [caption_ids[i] for i in t_order] + ["spare"],
                  np.vstack([text[t_order], np.ones((1, 8))]))
    write_bigfile(tmp_path / "video", [video_ids[j] for j in v_order], video[v_order])
    gt = write_gt(tmp_path / "gt.txt", [(caption_ids[i], video_ids[i % 10]) for i in range(30)])
    payload = json.loads(run("--text-features", tmp_path / "text", "--video-features",
                             tmp_path / "video", "--gt", gt, "--format", "json").output)
    cosine = (text / np.linalg.norm(text, axis=1, keepdims=True)) @ video.T
    want = expected(cosine, caption_video=np.arange(30) % 10)
    assert payload["t2v"] == want["t2v"] and payload["v2t"] == want["v2t"]

    bad_gt = write_gt(tmp_path / "bad.txt", [(caption_ids[0], "video0"), ("nobody", "video1")])
    result = run("--text-features", tmp_path / "text", "--video-features", tmp_path / "video",
                 "--gt", bad_gt)
    assert_input_error(result, str(tmp_path / "text"), "caption id.* 'nobody'")


# --- bad input: one line on stderr naming the file, exit 2, no traceback


def assert_input_error(result, path, pattern):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fpig-trecvid: error: "), result.stderr
    assert path in err[0], err[0]
    assert re.search(pattern, err[0]), err[0]


def saved(tmp_path, name, array):
    path = tmp_path / name
    np.save(path, array)
    return path


def test_missing_and_unreadable_files(tmp_path):
    assert_input_error(run("--sims", tmp_path / "none.npy", "--captions-per-video", 1),
                       "none.npy", "no such file")
    text = tmp_path / "sims.txt"
    text.write_text("0.1 0.2\n")
    assert_input_error(run("--sims", text, "--captions-per-video", 1), "sims.txt",
                       "neither a .npy array nor a Parquet file")
    assert_input_error(run("--sims", tmp_path, "--captions-per-video", 1), str(tmp_path),
                       "directory")


@pytest.mark.parametrize("array,args,pattern", [
    (np.zeros((0, 4), np.float32), ["--captions-per-video", 1], "empty similarity matrix"),
    (np.zeros((2, 2, 2), np.float32), ["--captions-per-video", 1], "expected a 2-D"),
    (np.eye(3, dtype=np.int64), ["--captions-per-video", 1], "floating-point"),
    (np.full((4, 2), np.nan), ["--captions-per-video", 2], "NaN similarity at row 0, column 0"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), ["--captions-per-video", 1, "--nan-as-lowest"],
     "infinite similarity"),
    (np.zeros((5, 2)), ["--captions-per-video", 2], "5 captions .* not 2 captions for each of 2"),
])
def test_bad_matrices(tmp_path, array, args, pattern):
    path = saved(tmp_path, "m.npy", array)
    assert_input_error(run("--sims", path, *args), "m.npy", pattern)


def test_gt_shape_mismatches_name_the_matrix(tmp_path):
    path = saved(tmp_path, "m.npy", np.eye(3))
    gt = write_gt(tmp_path / "gt.txt", [("a", "x"), ("b", "y")])
    assert_input_error(run("--sims", path, "--gt", gt), "m.npy", "3 rows but the ground truth")
    gt = write_gt(tmp_path / "gt2.txt", [("a", "x"), ("b", "y"), ("c", "y")])
    assert_input_error(run("--sims", path, "--gt", gt), "m.npy", "3 columns but .* 2 videos")


@pytest.mark.parametrize("content,pattern", [
    ("a\tx\nb x\n", r"gt\.txt:2: expected caption_id<TAB>video_id"),
    ("a\tx\nb\tx\ty\n", r"gt\.txt:2: expected"),
    ("a\tx\na\ty\n", r"gt\.txt:2: caption 'a' is listed again"),
    ("\n  \n", r"gt\.txt: empty ground truth file"),
])
def test_bad_gt_files(tmp_path, content, pattern):
    path = saved(tmp_path, "m.npy", np.eye(2))
    gt = tmp_path / "gt.txt"
    gt.write_text(content)
    assert_input_error(run("--sims", path, "--gt", gt), "gt.txt", pattern)


def test_bad_features(tmp_path):
    video = saved(tmp_path, "v.npy", unit_features(4, 8, 1).astype(np.float32))
    wrong_dim = saved(tmp_path, "t16.npy", unit_features(4, 16, 2).astype(np.float32))
    assert_input_error(run("--text-features", wrong_dim, "--video-features", video,
                           "--captions-per-video", 1), "t16.npy", "16-dimensional text")
    nan = unit_features(4, 8, 3)
    nan[2, 5] = np.nan
    nan_path = saved(tmp_path, "tnan.npy", nan)
    assert_input_error(run("--text-features", nan_path, "--video-features", video,
                           "--captions-per-video", 1), "tnan.npy",
                       "feature row 2 .* NaN or infinite")
    zero = unit_features(4, 8, 4)
    zero[1] = 0
    zero_path = saved(tmp_path, "tzero.npy", zero)
    assert_input_error(run("--text-features", zero_path, "--video-features", video,
                           "--captions-per-video", 1), "tzero.npy", "row 1 .* all-zero")
    three = saved(tmp_path, "t3.npy", unit_features(3, 8, 5))
    assert_input_error(run("--text-features", three, "--video-features", video,
                           "--captions-per-video", 1), "t3.npy", "3 text features are not 1")
    gt = write_gt(tmp_path / "gt.txt", [("a", "x"), ("b", "y")])
    assert_input_error(run("--text-features", three, "--video-features", video, "--gt", gt),
                       "t3.npy", "3 rows but the ground truth .* 2 captions")
    empty = saved(tmp_path, "t0.npy", np.zeros((0, 8), np.float32))
    assert_input_error(run("--text-features", empty, "--video-features", video,
                           "--captions-per-video", 1), "t0.npy", "empty feature matrix")


@pytest.mark.parametrize("args", [
    [],
    ["--captions-per-video", 1],
    ["--sims", "m.npy"],
    ["--sims", "m.npy", "--gt", "g.txt", "--captions-per-video", 1],
    ["--sims", "m.npy", "--text-features", "t.npy", "--video-features", "v.npy",
     "--captions-per-video", 1],
    ["--text-features", "t.npy", "--captions-per-video", 1],
    ["--sims", "m.npy", "--captions-per-video", 0],
    ["--sims", "m.npy", "--captions-per-video", 1, "--ks", "1,x"],
    ["--sims", "m.npy", "--captions-per-video", 1, "--ks", "0,5"],
    ["--sims", "m.npy", "--captions-per-video", 1, "--dsl-temperature", 0],
])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kwargs, cli_message, api_message", [
    (dict(captions_per_video=1), "give either --sims or --text-features with --video-features",
     "give either sims or text_features with video_features"),
    (dict(text_features="t.npy", captions_per_video=1),
     "--text-features and --video-features go together",
     "text_features and video_features go together"),
    (dict(sims="m.npy", gt="g.txt", captions_per_video=1),
     "give either --gt or --captions-per-video", "give either gt or captions_per_video"),
])
def test_one_rule_set_for_cli_api_and_library(kwargs, cli_message, api_message):
    """The CLI, the API and recall_from_files refuse the same argument sets by one rule, the
    library with InputError (it raised ValueError, which the CLI would print as a traceback)."""
    import trecvid_fpig as tf
    from trecvid_fpig.evaluate.recall import recall_from_files

    args = [a for key, value in kwargs.items() for a in ("--" + key.replace("_", "-"), value)]
    result = run(*args)
    assert result.exit_code == 2 and cli_message in result.output, result.output
    for call in (recall_from_files, tf.recall):
        with pytest.raises(InputError, match=f"^{re.escape(api_message)}$"):
            call(**kwargs)


def test_arrays_follow_the_same_rule():
    import trecvid_fpig as tf

    text = np.eye(3, dtype=np.float32)
    with pytest.raises(InputError, match="^text_features and video_features go together$"):
        tf.recall(text_features=text, captions_per_video=1)
    with pytest.raises(InputError, match="^give either sims or text_features with video_feat"):
        tf.recall(sims=text, text_features=text, video_features=text, captions_per_video=1)
    with pytest.raises(InputError, match="a gt file goes with paths"):
        tf.recall(sims=text, gt="g.txt")
