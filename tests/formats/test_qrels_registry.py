"""The registry of public qrels copies, proved offline on the two years the project ships: the
git blob ids the issue lists (from the repositories' histories) are those of the shipped files
in the copies' form, and normalising that form gives back the shipped bytes."""
import gzip
import hashlib
import subprocess

import pytest

from trecvid_fpig.formats.qrels_registry import REGISTRY, git_blob_id, normalise
from trecvid_fpig.formats.topics import REGISTRY as TOPIC_SETS
from trecvid_fpig.formats.topics import shipped_path


def shipped(name):
    return gzip.decompress(shipped_path(f"qrels/avs.qrels.{name}.gz").read_bytes())


def test_blob_id_is_git_hash_object(tmp_path):
    data = b"1661 0 shot1_1 1 1\r\n1661 0 shot1_2 1 0"
    (tmp_path / "f").write_bytes(data)
    git = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True)
    if git.returncode != 0:
        pytest.skip("git is not available")
    assert git_blob_id(data) == git.stdout.strip()
    assert git_blob_id(data) == hashlib.sha1(b"blob 38\0" + data).hexdigest()


def test_shipped_tv21_in_the_copys_form_has_the_registry_blob_and_normalises_back():
    tv21 = shipped("tv21")
    crlf = tv21.rstrip(b"\n").replace(b"\n", b"\r\n")       # CRLF, no final newline
    assert crlf != tv21 and not crlf.endswith(b"\n")
    assert git_blob_id(crlf) == "a705c7a9a81d189176e2f50357d9ed069ed1d845" == REGISTRY["tv21"].blob
    assert normalise(crlf) == tv21
    assert git_blob_id(tv21) != REGISTRY["tv21"].blob       # the blob pins the copy, not our form


def test_shipped_tv23_is_the_copy_byte_for_byte():
    tv23 = shipped("tv23")
    assert git_blob_id(tv23) == "328e6b9c19a2f73f94e4430625e9a0b417d033ca" == REGISTRY["tv23"].blob
    assert normalise(tv23) == tv23 + b"\n"


@pytest.mark.parametrize("data, form", [(b"a\r\nb\r\n", b"a\nb\n"), (b"a\nb", b"a\nb\n"),
                                        (b"a\nb\n", b"a\nb\n"), (b"a\r\nb", b"a\nb\n")])
def test_normalise_gives_lf_and_one_final_newline(data, form):
    assert normalise(data) == form == normalise(form)


def test_every_fetchable_set_has_a_pinned_source_at_a_commit():
    fetchable = {name for name, info in TOPIC_SETS.items() if info.fetchable}
    assert fetchable == {"tv19", "tv20", "tv22", "progress.v3c1"}
    assert fetchable < set(REGISTRY) <= set(TOPIC_SETS)
    for entry in REGISTRY.values():
        assert entry.downloads and entry.sources[0] == entry.downloads[0]
        for source in entry.sources:
            assert len(source.blob) == 40 and source.url.startswith("https://raw.githubusercontent.com/")
            assert any(len(part) == 40 for part in source.url.split("/"))     # a commit, not a branch
    tv20 = REGISTRY["tv20"]
    alternative = [s for s in tv20.sources if s.alternative]
    assert [s.blob for s in alternative] == ["b833880e7b670f587ff362b7a9998390daeecf10"]
    assert alternative[0] not in tv20.downloads
    assert {s.blob for s in REGISTRY["tv19"].sources} == {"8e8c2128f4c3252ea6df3d8da6aab96661dfbd0b"}
