"""The sidecar of a merged qrels file (``qrels merge``): read back only when it is a merge record
that describes the file beside it."""
import hashlib
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
    sha256 = [hashlib.sha256(f.read_bytes()).hexdigest() for f in (base, extra)]
    assert qrels.extra_record == ExtraRecord(str(base), ((str(extra), sha256[1]),), "2", sha256[0])
    assert qrels.extra_stratum == "2" and qrels.topics["1661"].pooled == (2, 1)


def test_the_qrels_less_the_extra_stratum_are_the_base_as_parsed(merged):
    """What browse shows as NIST's judgments of a merged file (its extra stratum as yours)."""
    base, extra, out = merged
    plain = load_qrels(base)
    for qrels in (load_qrels(out), load_qrels(base, extra=[extra])):
        nist = qrels.without_extra()
        assert nist.extra_stratum is None and nist.topics.keys() == plain.topics.keys()
        for topic, want in plain.topics.items():
            got = nist.topics[topic]
            assert (got.strata, got.rows, got.pooled, got.judged, got.relevant,
                    got.est_relevant, got.ideal_dcg, got.relevant_tokens) == \
                (want.strata, want.rows, want.pooled, want.judged, want.relevant,
                 want.est_relevant, want.ideal_dcg, want.relevant_tokens)
            assert got.stratum.tolist() == want.stratum.tolist()
            assert got.grade.tolist() == want.grade.tolist() and got.grade.dtype == want.grade.dtype


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


def test_an_extra_stratum_sorted_between_nist_s_leaves_them_as_parsed(tmp_path):
    """Strata keep NIST's string order: after nine strata the extra one, "10", sorts second."""
    base, extra = tmp_path / "base.qrels", tmp_path / "mine.txt"
    base.write_text("".join(f"1661 0 shot0000{s}_{k} {s} {(s + k) % 3 - 1}\n"
                            for s in range(1, 10) for k in (1, 2, 3)))
    extra.write_text("1661 shot00099_1 1\n1661 shot00099_2 0\n")
    merged = load_qrels(base, extra=[extra])
    assert merged.extra_stratum == "10" and merged.topics["1661"].strata[:3] == ("1", "10", "2")
    got, want = merged.without_extra().topics["1661"], load_qrels(base).topics["1661"]
    assert (got.strata, got.rows, got.pooled, got.judged, got.relevant, got.est_relevant,
            got.relevant_tokens) == (want.strata, want.rows, want.pooled, want.judged,
                                     want.relevant, want.est_relevant, want.relevant_tokens)
    assert got.stratum.tolist() == want.stratum.tolist()
