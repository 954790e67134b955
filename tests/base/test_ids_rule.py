"""One id rule (trecvid_fpig.base.ids) at every place ids enter: ids the toolkit writes it can read."""
from __future__ import annotations

import pytest
from support.cli import invoke

from trecvid_fpig.base.ids import (check_shot_ids, nist_topic_number, run_topic_id, shot_id,
                                   topic_of_run_id)
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.avs_xml import RunAttributes, parse_avs_xml, write_avs_xml
from trecvid_fpig.formats.runs import Run, TopicRanking, run_from_dict, write_run
from trecvid_fpig.formats.topics import parse_topics

BAD_SHOTS = ["clip A", "", "a\nb", "a\tb", "x\u00a0", "x\u3000y", "x\x1cy", "x\u2028", "x\x00",
             "x\x7f", "x\ud800", "x\uffff", "s" * 257]


@pytest.mark.parametrize("bad", BAD_SHOTS)
def test_bad_shot_ids_are_refused_by_name(bad):
    with pytest.raises(InputError, match="shot id"):
        shot_id(bad)
    with pytest.raises(InputError, match="row 2: shot id"):
        check_shot_ids(["shot00001_1", "a&b<\"'>", bad, "ok"])


def test_printable_ids_of_any_script_are_valid():
    ids = ["shot00001_1", "視頻_1", "a&b<\"'>", "e\u0301", "zero\u200bwidth", "s" * 256]
    check_shot_ids(ids)
    assert [shot_id(i) for i in ids] == ids


@pytest.mark.parametrize("topics, message", [
    ({"1661": {"shot1_1": 1.0}, "01661": {"shot1_2": 2.0}}, "same topic number"),
    ({"1661": {"shot1_1": 1.0}, 1661: {"shot1_2": 2.0}}, "same topic number"),
    ({"\u0661\u0666\u0666\u0661": {"shot1_1": 1.0}}, "ASCII digits"),
    ({"\uff11\uff16\uff16\uff11": {"shot1_1": 1.0}}, "ASCII digits"),
    ({"1661 ": {"shot1_1": 1.0}}, "ASCII digits"),
    ({"": {"shot1_1": 1.0}}, "ASCII digits"),
    ({"1234567890": {"shot1_1": 1.0}}, "ASCII digits"),
    ({1.5: {"shot1_1": 1.0}}, "must be a number"),
    ({"1661": {"clip A": 1.0}}, "topic 1661: shot id 'clip A' contains whitespace"),
    ({"1661": {"": 1.0}}, "topic 1661: shot id '' is empty"),
    ({"1661": {"a\n1662 Q0 forged": 1.0}}, "contains whitespace"),
])
def test_runs_built_in_memory_refuse_what_a_run_file_cannot_hold(topics, message):
    with pytest.raises(InputError, match=message):
        run_from_dict(topics)


def test_topics_are_kept_as_written():
    run = run_from_dict({"01662": {"shot1_1": 1.0}, 1661: {"shot1_2": 2.0}})
    assert list(run.topics) == ["1661", "01662"]


def test_dataframe_with_bad_or_missing_ids_is_refused():
    pd = pytest.importorskip("pandas")
    with pytest.raises(InputError, match="contains whitespace"):
        Run.from_dataframe(pd.DataFrame({"topic": ["1661"], "shot": ["clip A"], "score": [1.0]}))
    with pytest.raises(InputError, match="row 1: no shot"):
        Run.from_dataframe(pd.DataFrame({"topic": ["1661", "1661"], "shot": ["s1", None],
                                         "score": [1.0, 2.0]}))


def test_to_trec_refuses_a_run_assembled_with_bad_ids(tmp_path):
    """A Run built from its parts (not through from_dict) is checked when written."""
    good = run_from_dict({"1661": {"shot1_1": 1.0}})
    ranking = good.topics["1661"]
    for topic, shots in (("1661", ("clip A",)), ("1661", ("",)), ("16 61", ("s",))):
        forged = Run("x", "t", {topic: TopicRanking(topic, shots, ranking.scores, 1, ())})
        with pytest.raises(InputError):
            forged.to_trec(tmp_path / "r.txt")
        assert not (tmp_path / "r.txt").exists()
    with pytest.raises(InputError, match="contains whitespace"):
        write_run(tmp_path / "w.txt", [("1661", ["clip A"], [1.0])], tag="t")
    assert not (tmp_path / "w.txt").exists()


def test_topic_file_numbers_are_nist_topic_numbers(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("661 a dog\n999999999 a cat\n")
    with pytest.raises(InputError, match="1 to 999") as err:
        parse_topics(path)
    assert (err.value.path, err.value.line) == (str(path), 2)
    path.write_text("1661 a dog\n")
    with pytest.raises(InputError, match="NIST's run form of topic 661: write 661"):
        parse_topics(path)
    path.write_text("\u0661 a dog\n")
    with pytest.raises(InputError, match="ASCII digits"):
        parse_topics(path)
    path.write_text("1 a dog\n061 a cat\n999 a car\n")
    assert parse_topics(path).qrels_ids == ("1001", "1061", "1999")


def test_run_topic_form_round_trips():
    for number in (1, 61, 661, 999):
        assert topic_of_run_id(run_topic_id(number)) == number
        assert nist_topic_number(str(number)) == number
    for bad in (0, 1000, 999999999):
        with pytest.raises(InputError):
            run_topic_id(bad)
    for bad in ("661", "1000", "11661", "0661"):
        with pytest.raises(InputError, match="not in NIST's run form"):
            topic_of_run_id(bad)


def _xml(shot_attr: str, tnum: str = "661", seq: str = "1") -> bytes:
    return ('<?xml version="1.0"?>\n<videoAdhocSearchResults>\n<videoAdhocSearchRunResult '
            'pid="p" desc="d" trType="D" class="F" task="M" novelty="C" priority="1">\n'
            f'<videoAdhocSearchTopicResult tNum="{tnum}" elapsedTime="3">\n'
            f'<item seqNum="{seq}" shotId="{shot_attr}"/>\n'
            '</videoAdhocSearchTopicResult>\n</videoAdhocSearchRunResult>\n'
            '</videoAdhocSearchResults>\n').encode()


@pytest.mark.parametrize("raw, message", [
    (_xml("clip A"), "contains whitespace"),
    (_xml("x" * 100_000), "100000 characters"),
    (_xml(""), "is empty"),
    (_xml("a&#10;b"), "contains whitespace"),
    (_xml("shot1_1", tnum="1661"), "NIST's run form of topic 661"),
    (_xml("shot1_1", tnum="\u0666\u0666\u0661"), "ASCII digits"),
    (_xml("shot1_1", seq="\u0661"), "seqNum"),
])
def test_xml_ids_are_refused_with_their_line(tmp_path, raw, message):
    (tmp_path / "r.xml").write_bytes(raw)
    with pytest.raises(InputError, match=message) as err:
        parse_avs_xml(raw, tmp_path / "r.xml")
    assert err.value.line in (4, 5)
    converted = invoke("runs", "convert", tmp_path / "r.xml", tmp_path / "r.txt", "--to", "trec",
                       ok=False)
    assert converted.exit_code == 2 and not (tmp_path / "r.txt").exists()


def test_xml_writer_refuses_ids_it_could_not_read_back(tmp_path):
    attributes = RunAttributes(pid="p", desc="d")
    for topics in ([(661, 1, ["clip A"])], [(1661, 1, ["shot1_1"])], [(0, 1, ["shot1_1"])]):
        with pytest.raises(InputError):
            write_avs_xml(tmp_path / "r.xml", attributes, topics)
        assert not (tmp_path / "r.xml").exists()


def test_shot_table_id_with_a_space_is_refused_at_its_line(tmp_path):
    from trecvid_fpig.extract.shots import table_shots

    pytest.importorskip("pandas")
    table = tmp_path / "shots.csv"
    table.write_text("shot_id,video,start,end\nshot1_1,v.mp4,0,1\nclip A,v.mp4,1,2\n")
    with pytest.raises(InputError, match="'clip A' contains whitespace") as err:
        table_shots(table)
    assert (err.value.path, err.value.line) == (str(table), 3)
    table.write_text("shot_id,video,start,end\n,v.mp4,0,1\n")
    with pytest.raises(InputError, match="is empty"):
        table_shots(table)


def _run_file(tmp_path, lines):
    path = tmp_path / "r.txt"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("bad", ["1_0", "nan", "inf"])
def test_runs_check_refuses_what_score_refuses(tmp_path, bad):
    """`runs check` passed scores that float() takes but score refuses."""
    lines = [f"{1661 + t} Q0 shot{t + 1:05d}_1 1 0.5 tag\n" for t in range(20)]
    lines[3] = lines[3].replace("0.5", bad)
    path = _run_file(tmp_path, lines)
    scored = invoke("score", "--qrels", "tv21", path, ok=False)
    assert scored.exit_code == 2
    checked = invoke("runs", "check", "--topics", "tv21", path, ok=False)
    assert checked.exit_code == 1 and f"{path}:4: " in checked.output
    lines[3] = lines[3].replace(bad, "0.5")
    _run_file(tmp_path, lines)
    assert invoke("runs", "check", "--topics", "tv21", path, ok=False).exit_code == 0
    assert invoke("score", "--qrels", "tv21", path, ok=False).exit_code == 0
