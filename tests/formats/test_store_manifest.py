"""One manifest: ``features convert`` and ``features extract`` write the same one for the same
rows, and a malformed manifest is the same one-line error from a search's reader and from
``features merge``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.cli import invoke
from support.extraction import FakeVideoEncoder, keyframe_collection

from trecvid_fpig.errors import InputError
from trecvid_fpig.extract import job, writer
from trecvid_fpig.formats.store import convert_features, read_features

SHOTS = {f"shot0000{v}_{n}": 1 + (n % 3) for v in (1, 2) for n in range(1, 4)}


@pytest.fixture(scope="module")
def extracted_parts(tmp_path_factory):
    """Parts 1/2 and 2/2 of one extraction, made once; each test changes copies."""
    root = tmp_path_factory.mktemp("parts")
    keyframes = keyframe_collection(root / "kf", SHOTS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(job, "open_encoder",
                      lambda checkpoint, device, plugin, tower_config=None: FakeVideoEncoder())
        for i in (1, 2):
            invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", keyframes,
                   "--frames", 2, "--shard-size", 2, "--workers", 0, "--quiet",
                   "--shard", f"{i}/2", root / f"p{i}.fpig")
    return [root / f"p{i}.fpig" for i in (1, 2)]


@pytest.fixture
def parts(tmp_path, extracted_parts):
    return [Path(shutil.copytree(p, tmp_path / p.name)) for p in extracted_parts]


def test_convert_and_extract_write_one_manifest(tmp_path):
    """The same rows through both writers: the same arrays, and a manifest that differs only
    in where the rows came from (``source``) and the extraction's record."""
    rows = np.random.default_rng(5).standard_normal((7, 6)).astype(np.float32)
    ids = [f"shot{v:05d}_1" for v in range(1, 8)]
    np.save(tmp_path / "x.npy", rows)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    converted = convert_features(tmp_path / "x.npy", tmp_path / "c.fpig",
                                 ids=tmp_path / "ids.txt", dtype="float16")
    work = tmp_path / "work"
    work.mkdir()
    for number, (start, stop) in enumerate([(0, 3), (3, 7)]):
        writer.write_shard(work, writer.ShardOutput(
            number, tuple(ids[start:stop]), "plan", tuple(ids[start:stop]), rows[start:stop],
            None, (), 0, {}), "settings")
    record = {"input": {"kind": "keyframes", "path": "kf"}}
    extracted = writer.write_store(tmp_path / "e.fpig", [writer.shard_directory(work, 0),
                                                        writer.shard_directory(work, 1)],
                                   "float16", False, record)
    for name in ("features.npy", "ids.npy"):
        assert (tmp_path / "c.fpig" / name).read_bytes() == \
            (tmp_path / "e.fpig" / name).read_bytes()
    assert list(extracted) == list(converted) + ["extract"]
    differ = [key for key in converted if converted[key] != extracted[key]]
    assert differ == ["source"] and extracted["extract"] == record
    assert extracted["source"] == {"format": "extract (keyframes)", "path": "kf", "count": 7,
                                   "dim": 6, "dtype": "float32", "files": []}
    for store, manifest in (("c.fpig", converted), ("e.fpig", extracted)):
        assert json.loads((tmp_path / store / "manifest.json").read_text()) == manifest
        assert read_features(tmp_path / store).manifest == manifest


def _rewrite(manifest_path, change):
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(change(manifest) if callable(change) else change)


MALFORMED = {
    "not JSON": ("{not json", "manifest.json:1: not valid JSON"),
    "a list": ("[1, 2]", "not a fpig-trecvid feature store manifest"),
    "no dtype": (lambda m: json.dumps({k: v for k, v in m.items() if k != "dtype"}),
                 "manifest lacks dtype"),
    "another version": (lambda m: json.dumps(dict(m, version=2)), "store version 2"),
    "empty": ("\n", "empty store manifest"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_manifest_is_one_error_for_search_and_merge(tmp_path, parts, case):
    content, fragment = MALFORMED[case]
    _rewrite(parts[1] / "manifest.json", content)
    with pytest.raises(InputError) as searched:
        read_features(parts[1])
    merged = invoke("features", "merge", tmp_path / "m.fpig", *parts, ok=False)
    message = merged.stderr.strip()
    assert merged.exit_code == 2 and "\n" not in message and "Traceback" not in merged.output
    assert fragment in str(searched.value) and message.endswith(str(searched.value))
    assert not (tmp_path / "m.fpig").exists()


def test_a_bom_before_the_manifest_is_read_alike_by_search_and_merge(tmp_path, parts):
    """A UTF-8 BOM (an editor's save) is dropped by every reader of text, merge included."""
    manifest = parts[0] / "manifest.json"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())
    assert read_features(parts[0], part_ok=True).count > 0      # as `features inspect` reads it
    invoke("features", "merge", tmp_path / "m.fpig", *parts)
    assert read_features(tmp_path / "m.fpig").count == len(SHOTS)


@pytest.mark.parametrize("extract, fragment", [
    ([], "is not a partial store"),
    ({"part": {"index": 1}}, "manifest lacks extract.part.of, extract.part.rows, "
                             "extract.part.run_settings_sha256, extract.settings.shots, "
                             "extract.tower"),
])
def test_a_malformed_extraction_record_is_one_error_from_merge(tmp_path, parts, extract,
                                                               fragment):
    _rewrite(parts[0] / "manifest.json", lambda m: json.dumps(dict(m, extract=extract)))
    merged = invoke("features", "merge", tmp_path / "m.fpig", *parts, ok=False)
    assert merged.exit_code == 2 and fragment in merged.stderr
    assert "Traceback" not in merged.output and len(merged.stderr.strip().splitlines()) == 1
