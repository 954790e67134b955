"""NIST's XML in and out, scoring from standard input, and `runs check` without qrels."""
import gzip

import pytest
from support.cli import invoke, runner

import trecvid_fpig as tf
from trecvid_fpig.cli import cli
from trecvid_fpig.formats.avs_xml import parse_avs_xml
from trecvid_fpig.formats.runs import parse_run


@pytest.fixture
def run_a(data_dir):
    return data_dir / "tv21.runA.txt.gz"


def test_trec_to_xml_and_back_keeps_the_ranking_and_attributes(run_a, tmp_path):
    invoke("runs", "convert", run_a, tmp_path / "a.xml", "--to", "xml", "--xml-field", "pid=TEAM",
           "--xml-field", "trType=E", "--elapsed", "12.5")
    submission = parse_avs_xml((tmp_path / "a.xml").read_bytes(), "a.xml")
    assert submission.attributes["pid"] == "TEAM" and submission.attributes["trType"] == "E"
    assert {t.elapsed for t in submission.topics} == {"13"}
    assert [t.tnum for t in submission.topics] == list(range(661, 681))
    back = invoke("runs", "convert", tmp_path / "a.xml", tmp_path / "a.txt", "--to", "trec", "--run-id", "A")
    assert "pid=TEAM" in back.stderr and "trType=E" in back.stderr
    original, xml, trec = parse_run(run_a), tf.read_run(str(tmp_path / "a.xml")), parse_run(tmp_path / "a.txt")
    assert trec.tag == "A"
    for topic, ranking in original.topics.items():
        assert xml.topics[topic].shots == trec.topics[topic].shots == ranking.shots


def test_score_reads_xml_and_standard_input_like_the_trec_file(run_a, tmp_path, data_dir):
    invoke("runs", "convert", run_a, tmp_path / "a.xml", "--to", "xml")
    expected = invoke("score", "--qrels", "tv21", "--format", "sample-eval", run_a).output
    assert invoke("score", "--qrels", "tv21", "--format", "sample-eval", tmp_path / "a.xml").output == expected
    assert expected == (data_dir / "tv21.runA.sample_eval.out").read_text()
    for raw in (gzip.decompress(run_a.read_bytes()), (tmp_path / "a.xml").read_bytes()):
        piped = runner().invoke(cli, ["score", "--qrels", "tv21", "--format", "sample-eval", "-"], input=raw)
        assert piped.exit_code == 0 and piped.output == expected


def test_standard_input_errors_name_it():
    result = runner().invoke(cli, ["score", "--qrels", "tv21", "-"], input=b"1661 Q0 shot00001_1 1 x t\n")
    assert result.exit_code == 2 and "-:1: score (column 5)" in result.stderr


def test_xml_items_follow_seqnum_and_malformed_xml_names_its_line(tmp_path):
    good = ('<?xml version="1.0"?>\n<videoAdhocSearchResults>\n<videoAdhocSearchRunResult pid="p" desc="d" '
            'trType="D" class="F" task="M" novelty="C" priority="1">\n'
            '<videoAdhocSearchTopicResult tNum="661" elapsedTime="3">\n'
            '<item seqNum="2" shotId="shot00002_1"/>\n<item seqNum="1" shotId="shot00001_1"/>\n'
            '</videoAdhocSearchTopicResult>\n</videoAdhocSearchRunResult>\n</videoAdhocSearchResults>\n')
    (tmp_path / "r.xml").write_text(good)
    assert tf.read_run(str(tmp_path / "r.xml")).topics["1661"].shots == ("shot00001_1", "shot00002_1")
    (tmp_path / "bad.xml").write_text(good.replace("</videoAdhocSearchTopicResult>", "</oops>"))
    with pytest.raises(tf.InputError) as err:
        tf.read_run(str(tmp_path / "bad.xml"))
    assert err.value.line == 7 and "well-formed" in err.value.reason


def write_tv21_run(path, extra=(), skip_topic="1680"):
    lines = []
    for topic in range(1661, 1681):
        if str(topic) != skip_topic:
            lines.append(f"{topic} Q0 shot00010_1 1 0.5 t")
    path.write_text("\n".join(lines + list(extra)) + "\n")


def test_check_lists_each_problem_by_line(tmp_path, run_a):
    extra = ["1661 Q0 shot00010_1 2 0.4 t",          # repeat of line 1
             "1661 Q0 shot10_1 3 0.3 t",             # bad shot id
             "9999 Q0 shot00011_1 1 0.3 t",          # not a tv21 topic
             "1662 Q0 shot05037_1 2 0.2 t",          # a dropped V3C1 shot
             "1663 Q0 shot00012_1 2 high t",         # score not a number
             "1664 Q0 shot00013_1 2 0.1"]            # five fields
    write_tv21_run(tmp_path / "r.txt", extra)
    result = invoke("runs", "check", "--topics", "tv21", tmp_path / "r.txt", run_a, ok=False)
    assert result.exit_code == 1
    out = result.output
    r = tmp_path / "r.txt"
    for expected in (f"{r}:20: shot shot00010_1 repeats line 1 in topic 1661",
                     f"{r}:21: shot id 'shot10_1' is not of the form shotVVVVV_N",
                     f"{r}:22: topic 9999 is not in tv21",
                     f"{r}:23: shot shot05037_1 is one NIST dropped",
                     f"{r}:24: score (column 5) must be a finite number, got 'high'",
                     f"{r}:25: expected 6 whitespace-separated fields",
                     f"{r}: 1 topic(s) of tv21 missing: 1680"):
        assert expected in out
    assert str(run_a) not in out



def test_check_takes_ascii_digits_only_in_shot_ids(tmp_path):
    """Regex digits are Unicode: `shot١٢٣٤٥_1` passed as well formed."""
    write_tv21_run(tmp_path / "r.txt", ["1661 Q0 shot\u0661\u0662\u0663\u0664\u0665_1 2 0.4 t"])
    out = invoke("runs", "check", "--topics", "tv21", tmp_path / "r.txt", ok=False).output
    shot = "shot\u0661\u0662\u0663\u0664\u0665_1"
    assert f"{tmp_path / 'r.txt'}:20: shot id '{shot}' is not of the form" in out

def test_check_counts_1000_shots_and_collection_membership(tmp_path):
    extra = [f"1661 Q0 shot{i:05d}_2 {i} 0.1 t" for i in range(1, 1001)]
    write_tv21_run(tmp_path / "r.txt", extra, skip_topic=None)
    (tmp_path / "ids.txt").write_text(" ".join(f"shot{i:05d}_2" for i in range(1, 1000)) + "\n")
    out = invoke("runs", "check", "--topics", "tv21", "--collection", tmp_path / "ids.txt",
                 tmp_path / "r.txt", ok=False).output
    assert f"{tmp_path / 'r.txt'}:1020: topic 1661 has more than 1000 shots" in out
    assert f"{tmp_path / 'r.txt'}:1: shot shot00010_1 is not in the collection" in out
    assert f"{tmp_path / 'r.txt'}:1020: shot shot01000_2 is not in the collection" in out


def test_check_xml_attributes_against_the_dtd(tmp_path, run_a):
    invoke("runs", "convert", run_a, tmp_path / "a.xml", "--to", "xml")
    assert invoke("runs", "check", "--topics", "tv21", tmp_path / "a.xml").output.startswith("1 run(s) valid")
    text = (tmp_path / "a.xml").read_text().replace('trType="D"', 'trType="Z"')
    (tmp_path / "b.xml").write_text(text)
    out = invoke("runs", "check", "--topics", "tv21", tmp_path / "b.xml", ok=False).output
    assert f"{tmp_path / 'b.xml'}:4: attribute trType='Z' is not one NIST's DTD allows (A|D|E|F)" in out
    out = invoke("runs", "check", "--topics", "tv23", tmp_path / "a.xml", ok=False).output
    assert f"{tmp_path / 'a.xml'}:6: topic 661 is not in tv23" in out


def test_converting_xml_with_a_byte_order_mark_prints_its_attributes(run_a, tmp_path):
    """The attributes were looked for only when the file's first byte was '<'."""
    invoke("runs", "convert", run_a, tmp_path / "a.xml", "--to", "xml", "--xml-field", "pid=TEAM")
    (tmp_path / "bom.xml").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "a.xml").read_bytes())
    back = invoke("runs", "convert", tmp_path / "bom.xml", tmp_path / "a.txt", "--to", "trec")
    assert "pid=TEAM" in back.stderr
