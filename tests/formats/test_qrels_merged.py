"""The sidecar of a merged qrels file (``qrels merge``): read back only when it is a merge record
that describes the file beside it."""
import json
import warnings

import pytest

from trecvid_fpig.errors import InputWarning
from trecvid_fpig.formats.qrels import ExtraRecord, load_qrels, sidecar_path, write_merged_qrels

BASE = "1661 0 shot00001_1 1 1\n1661 0 shot00001_2 1 0\n1662 0 shot00002_1 1 -1\n"


@pytest.fixture
def merged(tmp_path):
    base, extra = tmp_path / "base.qrels", tmp_path / "mine.txt"
    base.write_text(BASE)
    extra.write_text("1661 shot00009_1 1\n")
    out = write_merged_qrels(load_qrels(str(base), extra=[str(extra)]), tmp_path / "m.qrels")
    return base, extra, out


def test_the_merged_file_reads_back_with_its_record(merged):
    base, extra, out = merged
    assert out.read_text() == BASE + "1661 0 shot00009_1 2 1\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qrels = load_qrels(out)
    assert qrels.extra_record == ExtraRecord(str(base), ((str(extra), qrels.extra_record.files[0][1]),), "2")
    assert qrels.extra_stratum == "2" and qrels.topics["1661"].pooled == (2, 1)


def test_merging_nothing_into_merged_qrels_returns_them_and_more_is_refused(merged):
    """Merging nothing is no merge (it used to be refused like a second merge); a second
    stratum of extra judgments still is."""
    from trecvid_fpig.errors import InputError

    _, extra, out = merged
    qrels = load_qrels(out)
    assert qrels.merge() is qrels
    with pytest.raises(InputError, match="already hold extra judgments"):
        qrels.merge(str(extra))


def test_another_tools_sidecar_is_not_a_merge_record(merged):
    _, _, out = merged
    sidecar_path(out).write_text(json.dumps({"set": "tv19", "sha256": "0" * 64}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_qrels(out).extra_record is None
    sidecar_path(out).write_text("{not json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_qrels(out).extra_record is None


@pytest.mark.parametrize("damage", ["edited file", "record without its files"])
def test_a_record_that_does_not_describe_the_file_warns_and_reads_plain(merged, damage):
    _, _, out = merged
    if damage == "edited file":
        out.write_text(out.read_text().replace("shot00009_1 2 1", "shot00009_1 2 0"))
    else:
        record = json.loads(sidecar_path(out).read_text())
        del record["extra_qrels"]
        sidecar_path(out).write_text(json.dumps(record))
    with pytest.warns(InputWarning, match="does not match its sidecar m.qrels.json"):
        qrels = load_qrels(out)
    assert qrels.extra_record is None and qrels.extra_stratum is None
