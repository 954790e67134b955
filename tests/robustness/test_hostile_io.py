"""Hostile inputs to the toolkit's own readers, writers and extraction (issue 32): each fails with
one line naming the input, a non-zero exit that is not 130, and no traceback."""
import gzip

import numpy as np
import pytest
from support.cli import runner

from trecvid_fpig.cli import cli
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.store import convert_features


def fpig(*args, stdin=None):
    return runner().invoke(cli, [str(a) for a in args], input=stdin)


def refused(result, *words):
    """Exit 2 (never 130, which means Ctrl-C), one error line with each of `words`, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "interrupted" not in result.stderr and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fpig-trecvid: error: "), result.stderr
    for word in words:
        assert word in lines[0], result.stderr
    return lines[0]


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((12, 8)).astype(np.float32))
    (tmp_path / "x.ids.txt").write_text("".join(f"shot00001_{i + 1}\n" for i in range(12)))
    convert_features(tmp_path / "x.npy", tmp_path / "x.fpig")
    return tmp_path / "x.fpig"


# --- 1. an EOFError is not Ctrl-C --------------------------------------------------------------

def test_truncated_gzip_on_stdin_names_standard_input():
    whole = gzip.compress(b"1661 Q0 shot00001_1 1 0.9 t\n" * 50)
    refused(fpig("score", "--qrels", "tv21", "-", stdin=whole[:len(whole) // 2]),
            "standard input", "gzip")


@pytest.mark.parametrize("array", ["features.npy", "ids.npy"])
def test_empty_store_array_is_named(store, array):
    (store / array).write_bytes(b"")
    refused(fpig("features", "inspect", store), f"{array}: not a readable .npy")


def test_empty_merge_part_array_is_named(store, tmp_path):
    (store / "features.npy").write_bytes(b"")
    refused(fpig("features", "merge", tmp_path / "out", store), "features.npy")
    assert not (tmp_path / "out").exists()


def test_eof_from_any_reader_exits_2_not_130(store, monkeypatch):
    """The net under every reader: an EOFError that escapes one is an error, not an interrupt."""
    def ends_early(*args, **kwargs):
        raise EOFError("Ran out of input")

    monkeypatch.setattr("trecvid_fpig.formats.store.read_store", ends_early)
    refused(fpig("features", "inspect", store), "input ended early", "Ran out of input")


# --- 2. Ctrl-C while the command starts ---------------------------------------------------------

#: Runs `fpig-trecvid score --help`, sending itself SIGINT the moment MODULE starts to import.
CTRL_C_DURING_IMPORT = """
import importlib.abc, os, signal, sys

MODULE = sys.argv[1]

class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["fpig-trecvid", "score", "--help"]
from trecvid_fpig.cli import main
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize("module", ["click", "trecvid_fpig.cli.group", "trecvid_fpig.cli.score"])
def test_ctrl_c_while_loading_exits_130_without_traceback(module):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CTRL_C_DURING_IMPORT, module],
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stderr)


# --- 5. messages name the output, never a temporary ---------------------------------------------

def test_a_full_disk_names_the_store_not_its_temporary(store, tmp_path, monkeypatch):
    import errno
    import os

    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    line = refused(fpig("features", "convert", tmp_path / "x.npy", tmp_path / "new.fpig"),
                   "No space left on device", str(tmp_path / "new.fpig"))
    assert ".part" not in line


def test_a_full_disk_names_the_run_file_not_the_stage(store, tmp_path, monkeypatch):
    import errno
    import os

    from trecvid_fpig.base import outputs

    np.save(tmp_path / "q.npy", np.random.default_rng(1).standard_normal((1, 8)).astype(np.float32))
    (tmp_path / "t.txt").write_text("661 a dog\n")
    real = outputs.os.fdopen

    def full(fd, *args, **kwargs):
        fh = real(fd, *args, **kwargs)
        fh.write = lambda data: (_ for _ in ()).throw(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        return fh

    monkeypatch.setattr(outputs.os, "fdopen", full)
    line = refused(fpig("run", "--query-features", tmp_path / "q.npy", "--features", store,
                        "--topics", tmp_path / "t.txt", "--run-id", "r", "--out-dir",
                        tmp_path / "runs", "--quiet"), "No space left on device")
    assert ".staged" not in line and str(tmp_path / "runs" / "r" / "t.txt") in line, line


def test_a_parquet_null_inside_a_vector_names_its_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    vectors = [[1.0, 0.0]] * 4 + [[1.0, None]] + [[0.0, 1.0]]
    pq.write_table(pa.table({"shot_id": [f"shot00001_{i + 1}" for i in range(6)],
                             "vector": pa.array(vectors, pa.list_(pa.float32()))}),
                   tmp_path / "f.parquet")
    line = refused(fpig("features", "convert", tmp_path / "f.parquet", tmp_path / "f.fpig", "--quiet"),
                   "f.parquet", "row 4 ")
    assert "row 0" not in line


def test_a_big_endian_npy_is_read_as_its_values(tmp_path):
    rows = np.random.default_rng(2).standard_normal((5, 4))
    np.save(tmp_path / "be.npy", rows.astype(">f4"))
    np.save(tmp_path / "le.npy", rows.astype("<f4"))
    for name in ("be", "le"):
        (tmp_path / f"{name}.ids.txt").write_text("".join(f"shot00001_{i + 1}\n" for i in range(5)))
        result = fpig("features", "convert", tmp_path / f"{name}.npy", tmp_path / f"{name}.fpig")
        assert result.exit_code == 0, result.stderr
    assert ((tmp_path / "be.fpig" / "features.npy").read_bytes()
            == (tmp_path / "le.fpig" / "features.npy").read_bytes())


# --- 3. the unit check follows the store's dtype ------------------------------------------------

def test_a_float16_store_accepts_its_own_rows_as_queries(tmp_path):
    """float16 rounding moves a unit row's norm by about 1e-4: a self-query scores above 1 + 1e-5."""
    import trecvid_fpig

    rows = np.random.default_rng(3).standard_normal((200, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", rows)
    (tmp_path / "x.ids.txt").write_text("".join(f"shot00001_{i + 1}\n" for i in range(200)))
    convert_features(tmp_path / "x.npy", tmp_path / "h.fpig", dtype="float16")
    stored = np.load(tmp_path / "h.fpig" / "features.npy").astype(np.float32)
    unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    run = trecvid_fpig.search({str(1661 + i): unit[i] for i in range(200)}, tmp_path / "h.fpig", k=1)
    assert [run.topics[t].shots[0] for t in sorted(run.topics)] == \
        [f"shot00001_{i + 1}" for i in range(200)]


# --- 4. a row that cannot be normalised is refused for its true reason -------------------------

@pytest.mark.parametrize("value, dtype, reason, not_reason", [
    (1e-23, np.float32, "too short to L2-normalise", "all-zero"),
    (1e200, np.float64, "too large to square", "NaN"),
    (0.0, np.float32, "all-zero", "L2 norm "),
    (np.nan, np.float32, "NaN or infinite", "L2 norm "),
])
def test_a_row_that_cannot_be_normalised_names_its_true_reason(tmp_path, value, dtype, reason,
                                                               not_reason):
    rows = np.random.default_rng(4).standard_normal((4, 8)).astype(dtype)
    rows[2] = value
    rows[2, 0] = value if value else 0.0
    np.save(tmp_path / "x.npy", rows)
    (tmp_path / "x.ids.txt").write_text("".join(f"shot00001_{i + 1}\n" for i in range(4)))
    line = refused(fpig("features", "convert", tmp_path / "x.npy", tmp_path / "x.fpig", "--quiet"),
                   "shot00001_3", reason)
    assert not_reason not in line


# --- 7. extraction inputs: each problem names its file ------------------------------------------

def test_a_dangling_keyframe_link_is_named(tmp_path):
    from trecvid_fpig.errors import InputError
    from trecvid_fpig.extract.shots import keyframe_shots

    (tmp_path / "shot00001_1_1.png").write_bytes(b"png")
    (tmp_path / "shot00001_1_2.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(InputError, match="shot00001_1_2.png: is a keyframe link to a file that"):
        keyframe_shots(tmp_path)


def test_one_keyframe_name_in_two_folders_is_refused_naming_both(tmp_path):
    """A backup copy beside the original merged both into one shot, in listing order."""
    first = tmp_path / "k" / "00001" / "shot00001_1_RKF.png"
    copy = tmp_path / "k" / "00001_old" / "shot00001_1_RKF.png"
    for path in (copy, first):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"png")
    line = refused(fpig("features", "extract", "--checkpoint", "none.pt", "--keyframes",
                        tmp_path / "k", tmp_path / "out.fpig"),
                   f"{first}: the same keyframe is also at {copy}: keep one")
    assert "00001_old" in line and not (tmp_path / "out.fpig").exists()


def test_keyframes_and_shots_whose_numbers_tie_keep_one_order_whatever_the_listing(
        tmp_path, monkeypatch):
    """``_1`` and ``_01`` (or shot ``00001_1`` and ``0001_1``) compare equal as numbers; their
    order was the file system's listing, so the same tree could give two stores."""
    from pathlib import Path

    from trecvid_fpig.extract.shots import keyframe_shots

    for name in ("shot00001_1_1.png", "shot00001_1_01.png", "shot0001_1_1.png"):
        (tmp_path / name).write_bytes(b"png")
    listing = sorted(tmp_path.iterdir())
    orders = []
    for order in (listing, listing[::-1]):
        monkeypatch.setattr(Path, "rglob", lambda self, pattern, order=order: iter(order))
        orders.append(keyframe_shots(tmp_path))
    assert orders[0] == orders[1]


def test_two_files_for_one_video_are_named(tmp_path):
    from trecvid_fpig.errors import InputError
    from trecvid_fpig.extract.shots import video_shots

    (tmp_path / "v").mkdir()
    (tmp_path / "b").mkdir()
    for name in ("00001.mp4", "00001.mkv"):
        (tmp_path / "v" / name).write_bytes(b"")
    (tmp_path / "b" / "00001.tsv").write_text("startframe\tstarttime\tendframe\tendtime\n0\t0\t9\t0.4\n")
    with pytest.raises(InputError, match="video 00001 has 2 files .00001.mkv, 00001.mp4.: keep one"):
        video_shots(tmp_path / "v", tmp_path / "b")


@pytest.mark.parametrize("rows", ["", "\n\n"])
def test_a_boundaries_file_without_a_shot_is_named(tmp_path, rows):
    """Every video has a shot: a header alone (a cut-off file) dropped the video from the store
    without a word."""
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "00002.mp4").write_bytes(b"")
    write = "startframe\tstarttime\tendframe\tendtime\n"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "00001.tsv").write_text(write + "0\t0\t9\t0.4\n")
    (tmp_path / "b" / "00002.tsv").write_text(write + rows)
    line = refused(fpig("features", "extract", "--checkpoint", "x.pt", "--videos", tmp_path / "v",
                        "--boundaries", tmp_path / "b", tmp_path / "out.fpig"), "no shot")
    assert "00002.tsv: holds a header and no shot" in line
    assert not (tmp_path / "out.fpig").exists()


def test_a_duplicate_shot_table_id_names_the_table_and_rows(tmp_path):
    pytest.importorskip("pandas")
    from trecvid_fpig.errors import InputError
    from trecvid_fpig.extract.shots import table_shots

    (tmp_path / "t.csv").write_text("shot_id,video,start,end\nshot00001_1,a.mp4,0,1\n"
                                    "shot00001_2,a.mp4,1,2\nshot00001_1,a.mp4,2,3\n")
    with pytest.raises(InputError, match=r"t.csv:4: shot shot00001_1 is listed twice .first at line 2"):
        table_shots(tmp_path / "t.csv")


@pytest.mark.parametrize("text, line", [
    ("shot_id,video,start,end\n\nshot00001_1,a.mp4,0,1\n\n\nshot00001_2,a.mp4,2,1\n", 6),
    ('shot_id,video,start,end\nshot00001_1,"a\nb.mp4",0,1\nshot00001_2,a.mp4,2,1\n', 4),
    ("shot_id,video,start,end\r\n\r\nshot00001_2,a.mp4,2,1\r\n", 3),
])
def test_a_bad_shot_table_row_is_named_by_its_line_in_the_file(tmp_path, text, line):
    """Lines were counted as one a row: blank lines and quoted line breaks put them off."""
    table = tmp_path / "t.csv"
    table.write_bytes(text.encode())
    refused(fpig("features", "extract", "--checkpoint", "none.pt", "--shot-table", table,
                 tmp_path / "out.fpig"), f"t.csv:{line}: needs 0 <= start < end")
    assert not (tmp_path / "out.fpig").exists()


def test_a_shot_table_row_without_the_header_s_fields_is_named(tmp_path):
    """A short row was padded with NaN (read as 'got 0.0 .. nan'), a long one refused with the
    CSV parser's own count of lines."""
    from trecvid_fpig.extract.shots import table_shots

    (tmp_path / "t.csv").write_text("shot_id,video,start,end\n\nshot00001_1,a.mp4,0\n")
    with pytest.raises(InputError, match=r"t.csv:3: expected 4 fields, as the header has, "
                                         r"found 3$"):
        table_shots(tmp_path / "t.csv")


def test_a_bad_parquet_shot_table_row_is_named_as_a_row(tmp_path):
    """A Parquet file has no lines: its rows are counted from 0, as pandas shows them."""
    pd = pytest.importorskip("pandas")
    from trecvid_fpig.extract.shots import table_shots

    table = tmp_path / "t.parquet"
    pd.DataFrame({"shot_id": ["shot00001_1", "shot00001_2", "shot00001_1"], "video": ["a"] * 3,
                  "start": [0, 1, 2], "end": [1, 2, 3]}).to_parquet(table)
    with pytest.raises(InputError, match=r"t.parquet: row 2: shot shot00001_1 is listed twice "
                                         r"\(first at row 0\)$") as err:
        table_shots(table)
    assert err.value.line is None


# --- 8. a --video-encoder that is not a plugin factory ------------------------------------------

@pytest.mark.parametrize("spec", ["json:loads", "os.path:join.__doc__.upper"])
def test_a_video_encoder_that_is_not_a_factory_is_refused(spec):
    pytest.importorskip("torch")
    from trecvid_fpig.errors import InputError
    from trecvid_fpig.encode.video_encoder import resolve_factory

    with pytest.raises(InputError, match=f"video encoder '{spec}' is not a plugin factory"):
        resolve_factory(spec)


# --- 6. warnings: one line, in the toolkit's words -----------------------------------------------

def test_huge_keyframes_are_reported_once_in_one_line(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    import warnings

    from trecvid_fpig.errors import InputWarning
    from trecvid_fpig.extract import reader
    from trecvid_fpig.extract.shots import Shot

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)       # 20x20 = 400 pixels: "huge"
    monkeypatch.setattr(reader, "_huge_image_reported", [])
    paths = []
    for i in range(3):
        paths.append(str(tmp_path / f"shot00001_1_{i}.png"))
        Image.new("RGB", (20, 20)).save(paths[-1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pixels = reader.read_keyframes(Shot("shot00001_1", str(tmp_path), images=tuple(paths)), 3)
    assert len(pixels.images) == 3
    assert [w.category for w in caught] == [InputWarning], [str(w.message) for w in caught]
    assert "shot00001_1_0.png: a 20x20 keyframe" in str(caught[0].message)


def test_an_image_past_the_bomb_limit_fails_its_shot_not_the_run(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    from trecvid_fpig.extract import reader
    from trecvid_fpig.extract.shots import Failure, Shot

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)       # 400 > 2 x 100: Pillow's error
    Image.new("RGB", (20, 20)).save(tmp_path / "shot00001_1_0.png")
    result = reader.read_keyframes(Shot("shot00001_1", str(tmp_path),
                                        images=(str(tmp_path / "shot00001_1_0.png"),)), 1)
    assert isinstance(result, Failure) and "cannot decode image" in result.reason


def test_a_library_warning_does_not_bury_the_error_line(store, monkeypatch):
    import warnings

    from trecvid_fpig.errors import InputError

    def warns_then_refuses(*args, **kwargs):
        warnings.warn("overflow encountered in cast", RuntimeWarning)
        raise InputError("has a feature vector of L2 norm 1e+200", "x.npy")

    monkeypatch.setattr("trecvid_fpig.formats.store.read_store", warns_then_refuses)
    refused(fpig("features", "inspect", store), "x.npy: has a feature vector")


def test_a_library_warning_of_a_command_that_succeeds_is_one_line(store, monkeypatch):
    import warnings

    from trecvid_fpig.formats import store as stores

    real = stores.read_store

    def warns(*args, **kwargs):
        warnings.warn("a library's note", UserWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(stores, "read_store", warns)
    result = fpig("features", "inspect", store)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip().splitlines() == ["fpig-trecvid: warning: a library's note (UserWarning)"]


def test_a_part_without_its_frame_files_is_named_not_the_output(store, tmp_path):
    from trecvid_fpig.errors import InputError
    from trecvid_fpig.extract.writer import write_store

    with pytest.raises(InputError) as caught:
        write_store(tmp_path / "out.fpig", [store], "float32", True, {}, stored_rows=True)
    assert caught.value.path == str(store / "frame_offsets.npy")
    assert "no such file" in str(caught.value)
    assert not (tmp_path / "out.fpig").exists()


@pytest.mark.slow
def test_a_zero_text_tower_is_not_blamed_on_a_staging_path(store, tmp_path):
    torch = pytest.importorskip("torch")
    from trecvid_fpig.demo.checkpoints import save_random_checkpoint

    state = torch.load(save_random_checkpoint(tmp_path / "m.pt", "hf-clip", width=32, layers=1,
                                              embed_dim=8), map_location="cpu", weights_only=False)

    def zero_projections(tree):
        for key, value in tree.items():
            if isinstance(value, dict):
                zero_projections(value)
            elif torch.is_tensor(value) and "proj" in key:
                value.zero_()

    zero_projections(state)
    torch.save(state, tmp_path / "zero.pt")
    (tmp_path / "t.txt").write_text("661 a dog\n")
    line = refused(fpig("run", "--checkpoint", tmp_path / "zero.pt", "--features", store,
                        "--topics", tmp_path / "t.txt", "--run-id", "r", "--out-dir",
                        tmp_path / "runs", "--quiet"), "topic 661 has an all-zero")
    assert ".staged" not in line and ".part" not in line, line


# --- numbers of thousands of digits: int() refuses past 4,300 digits (a ValueError, not ours) ----

def test_numbers_of_thousands_of_digits_are_one_line(tmp_path):
    from trecvid_fpig.extract.shots import natural_key, read_boundaries
    from trecvid_fpig.formats.store import read_features

    huge = "9" * 5000
    big = tmp_path / "big"
    big.mkdir()
    (big / "shape.txt").write_text(f"{huge} 2\n")
    (big / "feature.bin").write_bytes(b"")
    (big / "id.txt").write_text("shot00001_1\n")
    with pytest.raises(InputError, match="too large to be real") as err:
        read_features(big)
    assert err.value.line == 1
    msb = tmp_path / "00001.tsv"
    msb.write_text(f"startframe\tstarttime\tendframe\tendtime\n0\t0.0\t{huge}\t1.0\n")
    with pytest.raises(InputError, match=r"endframe 9{40}… \(5000 digits\) is past any real video") as err:
        read_boundaries(msb)
    assert err.value.line == 2
    names = [f"shot{huge}_1", "shot2_10", "shot2_9", "shot02_9"]
    assert sorted(names, key=natural_key) == ["shot2_9", "shot02_9", "shot2_10", f"shot{huge}_1"]


# --- 7. a name with a control character in it --------------------------------------------------

@pytest.mark.parametrize("name", ["a\nb", "tab\there", "esc\x1b[31m"])
def test_a_file_name_with_a_control_character_is_one_line_that_shows_it(tmp_path, name):
    """Found by the API fuzz: a path "\\n" made the error two lines; the name is shown escaped."""
    line = refused(fpig("score", "--qrels", "tv21", tmp_path / name), "no such file")
    assert repr(name)[1:-1] in line


def test_a_run_file_with_a_newline_in_its_name_is_one_line_when_malformed(tmp_path):
    bad = tmp_path / "my\nrun.txt"
    bad.write_text("1661 Q0 shot00001_1 1 0.5\n")           # five columns: TREC runs have six
    refused(fpig("score", "--qrels", "tv21", bad), "my\\nrun.txt:1")


def test_score_s_warnings_naming_such_a_run_are_one_line(tmp_path):
    bad = tmp_path / "my\nrun.txt"            # a shot twice, and nothing in NIST's pool
    bad.write_text("1661 Q0 shot00001_1 1 0.5 r\n1661 Q0 shot00001_1 2 0.4 r\n")
    result = fpig("score", "--qrels", "tv21", bad)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("fpig-trecvid: warning: ") for line in lines)
    assert all(f"{tmp_path}/my\\nrun.txt: " in line for line in lines), lines
