"""``--shard I/N`` and ``features merge``: the merged store is the one-machine store, byte for
byte, and a missing, duplicated or foreign part is one clear error naming it."""
from __future__ import annotations

import json

import numpy as np
import pytest
from support.cli import invoke
from support.extraction import KEYFRAME_SHOTS

from trecvid_fpig.errors import InputError
from trecvid_fpig.extract.parts import parse_part, part_shards


def extract(root, out, *extra, ok=True):
    return invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
                  "--frames", 2, "--shard-size", 2, "--batch-size", 3, "--workers", 0,
                  "--quiet", *extra, out, ok=ok)


def test_part_ranges_tile_the_shards_in_order():
    for shards in range(1, 12):
        for count in range(1, shards + 1):
            ranges = [part_shards(shards, i, count) for i in range(1, count + 1)]
            assert ranges[0][0] == 0 and ranges[-1][1] == shards
            assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
            sizes = [b - a for a, b in ranges]
            assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    with pytest.raises(InputError, match="only 2 shard"):
        part_shards(2, 1, 3)
    assert parse_part("3/8") == (3, 8)
    for bad in ("0/4", "5/4", "3", "a/b"):
        with pytest.raises(InputError, match="--shard"):
            parse_part(bad)


@pytest.mark.parametrize("options", [("--keep-frames",), ("--dtype", "float16")])
def test_parts_merged_equal_one_run_byte_for_byte(tmp_path, keyframes, fake_tower, options):
    whole = tmp_path / "whole.fpig"
    extract(keyframes, whole, *options)
    parts = []
    for index in (3, 1, 2):                     # order of the arguments does not matter
        part = tmp_path / f"p{index}.fpig"
        extract(keyframes, part, *options, "--shard", f"{index}/3")
        parts.append(part)
        record = json.loads((part / "manifest.json").read_text())["extract"]
        assert record["part"]["index"] == index and record["part"]["of"] == 3
    merged = tmp_path / "merged.fpig"
    result = invoke("features", "merge", merged, *parts)
    assert "15 shots" in result.stdout
    names = ["features.npy", "ids.npy"]
    names += ["frames.npy", "frame_offsets.npy"] if "--keep-frames" in options else []
    for name in names:
        assert (merged / name).read_bytes() == (whole / name).read_bytes(), name
    ids = np.load(merged / "ids.npy").tolist()
    assert len(ids) == len(set(ids)) == len(KEYFRAME_SHOTS)
    whole_record = json.loads((whole / "manifest.json").read_text())["extract"]
    merged_record = json.loads((merged / "manifest.json").read_text())["extract"]
    assert merged_record["settings_sha256"] == whole_record["settings_sha256"]
    assert merged_record["settings"] == whole_record["settings"]
    norms = [json.loads((s / "manifest.json").read_text())["norms"] for s in (merged, whole)]
    assert norms[0] == norms[1]                     # the tower's, not the float16 rows' norms
    invoke("run", "--help")                         # the merged store is an ordinary store


def test_missing_duplicated_and_foreign_parts_are_named(tmp_path, keyframes, fake_tower):
    p = {i: tmp_path / f"p{i}.fpig" for i in (1, 2, 3)}
    for i, path in p.items():
        extract(keyframes, path, "--shard", f"{i}/3")
    other = tmp_path / "other.fpig"
    extract(keyframes, other, "--shard", "2/3", "--frames", 1)
    halves = tmp_path / "half.fpig"
    extract(keyframes, halves, "--shard", "2/2")
    out = tmp_path / "m.fpig"

    def fails(*parts):
        result = invoke("features", "merge", out, *parts, ok=False)
        assert result.exit_code == 2 and not out.exists()
        return result.stderr

    assert "part(s) 2/3 missing" in fails(p[1], p[3])
    error = fails(p[1], p[2], p[2], p[3])
    assert "part 2/3 is given twice" in error and str(p[2]) in error
    error = fails(p[1], other, p[3])
    assert str(other) in error and "other settings" in error and "frames: 2 vs 1" in error
    assert str(halves) in fails(p[1], halves)
    result = invoke("features", "merge", "--overwrite", p[1], p[1], p[2], p[3], ok=False)
    assert "is the same file as the part 1" in result.stderr
    assert (p[1] / "manifest.json").exists()
    (tmp_path / "link").symlink_to(p[2])
    result = invoke("features", "merge", "--overwrite", tmp_path / "link", p[1], p[2], p[3],
                    ok=False)
    assert "is the same file as the part 2" in result.stderr and (p[2] / "manifest.json").exists()
    assert "not a feature store" in fails(p[1], p[2], p[3], tmp_path / "nothing")


def test_an_unfinished_part_resumes_only_as_the_same_part(tmp_path, keyframes, fake_tower):
    wanted = tmp_path / "shots.txt"
    wanted.write_text("\n".join(list(KEYFRAME_SHOTS) + ["shot00009_1"]))      # one shot the input lacks
    out = tmp_path / "p.fpig"
    result = extract(keyframes, out, "--shots", wanted, "--shard", "1/2", ok=False)
    assert result.exit_code == 1 and not out.exists()
    error = extract(keyframes, out, "--shots", wanted, "--shard", "2/2", ok=False).stderr
    assert "different settings" in error and "part: [1, 2] -> [2, 2]" in error
    extract(keyframes, out, "--shots", wanted, "--shard", "1/2", "--allow-missing")
    record = json.loads((out / "manifest.json").read_text())["extract"]
    assert record["failed"][0][0] == "shot00009_1"


def test_feeding_threads_follow_what_bounds_and_are_restored():
    """torch's threads in the main process: one on a GPU, and on the CPU one while it waits for
    the decode workers longer than the tower works, all of them otherwise."""
    import time
    from types import SimpleNamespace

    torch = pytest.importorskip("torch")
    from trecvid_fpig.extract.engines import _FeedingThreads

    def units():
        for _ in range(3):
            time.sleep(0.01)
            yield []

    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        mapper = SimpleNamespace(encoder=SimpleNamespace(device="cpu"), encode_seconds=0.0)
        with _FeedingThreads(mapper) as threads:
            list(threads.watch(units()))            # the tower has not run yet: no evidence
            assert torch.get_num_threads() == 2
            mapper.encode_seconds = 1e-4             # a light tower: decoding bounds
            list(threads.watch(units()))
            assert torch.get_num_threads() == 1
            mapper.encode_seconds = 100.0            # a heavy tower: the tower bounds
            list(threads.watch(units()))
            assert torch.get_num_threads() == 2
            mapper.encode_seconds = 1e-4
            list(threads.watch(units()))
        assert torch.get_num_threads() == 2          # restored on the way out
        gpu = SimpleNamespace(encoder=SimpleNamespace(device="cuda:0"), encode_seconds=100.0)
        with _FeedingThreads(gpu) as threads:
            assert torch.get_num_threads() == 1
            list(threads.watch(units()))
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)


def test_merge_never_replaces_what_is_not_a_store(tmp_path, keyframes, fake_tower):
    p = [tmp_path / f"p{i}.fpig" for i in (1, 2)]
    for i, path in enumerate(p, 1):
        extract(keyframes, path, "--shard", f"{i}/2")
    afile = tmp_path / "notes.txt"
    afile.write_text("mine\n")
    adir = tmp_path / "photos"
    adir.mkdir()
    (adir / "a.jpg").write_bytes(b"x")
    for out in (afile, adir):
        result = invoke("features", "merge", "--overwrite", out, *p, ok=False)
        assert result.exit_code == 2 and "is not a feature store" in result.stderr
    assert afile.read_text() == "mine\n" and (adir / "a.jpg").read_bytes() == b"x"


@pytest.mark.parametrize("name", ["features.npy", "ids.npy", "frames.npy"])
def test_a_changed_part_is_refused_by_name(tmp_path, keyframes, fake_tower, name):
    p = [tmp_path / f"p{i}.fpig" for i in (1, 2)]
    for i, path in enumerate(p, 1):
        extract(keyframes, path, "--shard", f"{i}/2", "--keep-frames")
    data = bytearray((p[1] / name).read_bytes())
    data[-1] ^= 1                                   # one bit of the last row, shape unchanged
    (p[1] / name).write_bytes(bytes(data))
    out = tmp_path / "m.fpig"
    result = invoke("features", "merge", out, *p, ok=False)
    assert result.exit_code == 2 and not out.exists()
    assert str(p[1] / name) in result.stderr and "sha256" in result.stderr


def test_parts_resized_in_different_places_merge_into_the_same_bytes(tmp_path, keyframes,
                                                                    fake_tower):
    whole = tmp_path / "whole.fpig"
    extract(keyframes, whole)
    parts = []
    for index, preprocess in ((1, "cpu"), (2, "device")):
        part = tmp_path / f"p{index}.fpig"
        extract(keyframes, part, "--preprocess", preprocess, "--shard", f"{index}/2")
        parts.append(part)
    merged = tmp_path / "merged.fpig"
    invoke("features", "merge", merged, *parts)
    for name in ("features.npy", "ids.npy"):
        assert (merged / name).read_bytes() == (whole / name).read_bytes(), name
    assert json.loads((merged / "manifest.json").read_text())["extract"]["preprocess"] == \
        "cpu+device"


def test_the_merged_manifest_does_not_depend_on_the_order_of_the_parts(tmp_path, keyframes,
                                                                      fake_tower):
    """Parts may name the same collection by other paths (a node's mount): the merged record
    is part 1's, whichever part comes first on the command line."""
    (tmp_path / "mount").symlink_to(keyframes)
    p1, p2 = tmp_path / "p1.fpig", tmp_path / "p2.fpig"
    extract(keyframes, p1, "--shard", "1/2")
    extract(tmp_path / "mount", p2, "--shard", "2/2")
    merged = []
    for name, order in (("a.fpig", (p1, p2)), ("b.fpig", (p2, p1))):
        invoke("features", "merge", tmp_path / name, *order)
        merged.append(json.loads((tmp_path / name / "manifest.json").read_text()))
    assert merged[0] == merged[1]
    assert merged[0]["extract"]["input"]["path"] == str(keyframes)


@pytest.mark.parametrize("key, value", [("index", "2"), ("of", 0), ("index", 3),
                                        ("rows", None), ("rows", [9, 4]), ("rows", [0, True]),
                                        ("run_settings_sha256", 7), ("norms_sum", "1")])
def test_a_part_whose_manifest_was_edited_is_one_error(tmp_path, keyframes, fake_tower, key,
                                                       value):
    p = [tmp_path / f"p{i}.fpig" for i in (1, 2)]
    for i, path in enumerate(p, 1):
        extract(keyframes, path, "--shard", f"{i}/2")
    manifest = json.loads((p[1] / "manifest.json").read_text())
    manifest["extract"]["part"][key] = value
    (p[1] / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "m.fpig"
    result = invoke("features", "merge", out, *p, ok=False)
    assert result.exit_code == 2 and not out.exists()
    assert str(p[1] / "manifest.json") in result.stderr and "malformed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_merge_lists_the_failed_shots_beside_the_store_as_one_run_does(tmp_path, keyframes,
                                                                       fake_tower):
    """A stale OUT.failed.tsv (an earlier one-machine try) must not outlive the merge, and the
    parts' failures are listed there as a one-machine run lists them."""
    wanted = tmp_path / "shots.txt"
    wanted.write_text("\n".join(list(KEYFRAME_SHOTS) + ["shot00009_1"]))
    whole = tmp_path / "whole.fpig"
    extract(keyframes, whole, "--shots", wanted, "--allow-missing")
    parts = [tmp_path / f"p{i}.fpig" for i in (1, 2)]
    for i, part in enumerate(parts, 1):
        extract(keyframes, part, "--shots", wanted, "--allow-missing", "--shard", f"{i}/2")
    merged = tmp_path / "merged.fpig"
    (tmp_path / "merged.fpig.failed.tsv").write_text("shot\tfile\treason\nshot00001_1\tx\ty\n")
    invoke("features", "merge", merged, *parts)
    assert (tmp_path / "merged.fpig.failed.tsv").read_text() == \
        (tmp_path / "whole.fpig.failed.tsv").read_text()
    extract(keyframes, parts[0], "--overwrite", "--shard", "1/2")     # nothing fails now
    extract(keyframes, parts[1], "--overwrite", "--shard", "2/2")
    invoke("features", "merge", "--overwrite", merged, *parts)
    assert not (tmp_path / "merged.fpig.failed.tsv").exists()


def test_a_part_is_not_searched_or_converted_as_if_it_were_the_store(tmp_path, keyframes,
                                                                     fake_tower):
    """A part holds a slice of the shots: `run` on it would rank 1/N of the collection without
    a word, and `convert` would make it a store that looks whole."""
    part = tmp_path / "p1.fpig"
    extract(keyframes, part, "--shard", "1/2")
    queries = tmp_path / "q.npy"
    np.save(queries, np.ones((30, 8), np.float32))
    for args in (("features", "convert", part, tmp_path / "c.fpig"),
                 ("run", "--query-features", queries, "--features", part, "--topics",
                  "tv19", "--run-id", "r", "--out-dir", tmp_path / "runs")):
        result = invoke(*args, ok=False)
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
        assert f"{part}: is part 1/2 of a split extraction" in result.stderr
        assert "features merge" in result.stderr
    assert not (tmp_path / "c.fpig").exists() and not (tmp_path / "runs").exists()
    shown = invoke("features", "inspect", "--verify", part).stdout
    assert "1/2 of a split extraction" in shown


def test_a_part_an_extraction_is_writing_is_not_merged(tmp_path, keyframes, fake_tower):
    """Part 2 is being extracted again (--overwrite): its old store must not be merged."""
    from trecvid_fpig.base.locks import output_lock

    p = [tmp_path / f"p{i}.fpig" for i in (1, 2)]
    for i, path in enumerate(p, 1):
        extract(keyframes, path, "--shard", f"{i}/2")
    out = tmp_path / "m.fpig"
    with output_lock(p[1]):
        result = invoke("features", "merge", out, *p, ok=False)
    assert result.exit_code == 2 and not out.exists()
    assert f"{p[1]}: an extraction is writing this part now" in result.stderr
    invoke("features", "merge", out, *p)


def test_parts_before_the_output_are_told_the_order(tmp_path, keyframes, fake_tower):
    """`features merge PART... OUT` takes part 1 for the output: --overwrite is not the fix."""
    p = [tmp_path / f"p{i}.fpig" for i in (1, 2)]
    for i, path in enumerate(p, 1):
        extract(keyframes, path, "--shard", f"{i}/2")
    before = (p[0] / "features.npy").read_bytes()
    for extra in ((), ("--overwrite",)):
        result = invoke("features", "merge", *extra, p[0], p[1], tmp_path / "m.fpig", ok=False)
        assert result.exit_code == 2 and "the merged store comes first" in result.stderr
        assert f"{p[0]}: is part 1/2" in result.stderr
    assert (p[0] / "features.npy").read_bytes() == before
