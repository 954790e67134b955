"""Fields and lines are what NIST's sample_eval.pl sees, in every reader.

The script reads the file's bytes and splits them with Perl's ``split(/\\s+/)``: ASCII white space
only. Python's ``str.split()`` also splits at NBSP, U+3000, U+001C–U+001F …, and
``str.splitlines()`` also ends lines at form feeds, U+001C–U+001E, U+2028 …; a reader that used
them matched ``shot00001_1<NBSP>`` to the pooled ``shot00001_1`` and named the wrong lines.
"""
import math
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trecvid_fpig.base.fields import parse_numbers, split_columns, split_fields, text_lines
from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.recall import read_ground_truth
from trecvid_fpig.evaluate.submission_rules import Expectations, check_run_file, read_id_list
from trecvid_fpig.extract.shots import read_boundaries, table_shots
from trecvid_fpig.formats.avs_xml import parse_avs_xml
from trecvid_fpig.formats.features import read_bigfile
from trecvid_fpig.formats.qrels import parse_qrels
from trecvid_fpig.formats.runs import parse_run
from trecvid_fpig.formats.topics import load_topics, parse_topics
from trecvid_fpig.report.plots import read_sensitivity

#: Perl's \s on bytes, written out here rather than taken from the module under test.
PERL_SPACE = " \t\n\x0b\x0c\r"
#: Every character Python's str.split() splits at and Perl's split(/\s+/) keeps in the field.
PYTHON_ONLY_SPACE = [chr(c) for c in range(sys.maxunicode + 1)
                     if len(f"a{chr(c)}b".split()) == 2 and chr(c) not in PERL_SPACE]
#: Every character str.splitlines() ends a line at besides "\n" (and "\r\n").
PYTHON_ONLY_LINE_END = [chr(c) for c in range(sys.maxunicode + 1)
                        if len(f"a{chr(c)}b".splitlines()) == 2 and chr(c) != "\n"]


def test_the_lists_hold_what_the_issue_names():
    assert {"\xa0", "\u3000", "\x1c", "\x1f", "\u2028", "\x85"} <= set(PYTHON_ONLY_SPACE)
    assert {"\x1c", "\x0c", "\x0b", "\u2028", "\r"} <= set(PYTHON_ONLY_LINE_END)


def perl_split(data: bytes):
    """sample_eval.pl's own split of a whole file."""
    out = subprocess.run(["perl", "-e", 'local $/; print join("\\0", split(/\\s+/, <STDIN>))'],
                         input=data, capture_output=True, check=True).stdout
    return [t.decode("utf-8") for t in out.split(b"\0")] if out else []


@pytest.mark.skipif(shutil.which("perl") is None, reason="needs perl as the reference")
@pytest.mark.parametrize("char", PYTHON_ONLY_SPACE + list(PERL_SPACE))
def test_columns_split_as_perl_does(char):
    text = (f"1661 Q0 shot00001_1{char} 1 0.5 tag\n"
            f"1661{char}Q0 shot00001_2 2 0.4 tag\n"
            f"1661 Q0 {char}shot00001_3 3 0.3 tag{char}\n")
    perl = perl_split(text.encode("utf-8"))
    if perl and perl[0] == "":          # Perl keeps an empty leading field; no reader relies on it
        perl = perl[1:]
    assert split_fields(text) == perl
    if char == "\n":                   # a line break: line 1 has 3 fields, for Perl too
        return
    if len(perl) == 18:
        columns = split_columns(text, 6, "run", "topic Q0 shot rank score tag")
        assert [tok for row in zip(*columns) for tok in row] == perl
    else:
        with pytest.raises(InputError, match="expected 6 whitespace-separated fields"):
            split_columns(text, 6, "run", "topic Q0 shot rank score tag")


@pytest.mark.skipif(shutil.which("perl") is None, reason="needs perl as the reference")
@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=PERL_SPACE + "".join(PYTHON_ONLY_SPACE) + "\u2029ab1é\U0001f600",
               max_size=30), st.integers(-1, 3))
def test_split_fields_is_perls_split(text, maxsplit):
    perl = perl_split(text.encode("utf-8"))
    if perl and perl[0] == "":
        perl = perl[1:]
    fields = split_fields(text, maxsplit)
    if maxsplit < 0 or len(perl) <= maxsplit:
        assert fields == perl
    else:                            # the rest of the text, from its first field on
        assert fields[:maxsplit] == perl[:maxsplit]
        assert split_fields(fields[maxsplit]) == perl[maxsplit:]


@pytest.mark.parametrize("char", PYTHON_ONLY_SPACE)
def test_a_shot_id_keeps_unicode_space(tmp_path, char):
    qrels = tmp_path / "q"
    qrels.write_text("1661 0 shot00001_1 1 1\n1661 0 shot00001_2 1 0\n", encoding="utf-8")
    run = tmp_path / "r"
    run.write_text(f"1661 Q0 shot00001_1{char} 1 0.9 t\n1661 Q0 shot00001_2 2 0.5 t\n",
                   encoding="utf-8")
    ranking = parse_run(run).topics["1661"]
    assert ranking.shots == (f"shot00001_1{char}", "shot00001_2")
    judged, _ = parse_qrels(qrels).topics["1661"].lookup(ranking.shots)
    assert judged.tolist() == [-1, 0]                    # not pooled, as sample_eval.pl sees it


@pytest.mark.parametrize("char", PYTHON_ONLY_SPACE)
def test_topic_ids_and_shot_lists_keep_unicode_space(tmp_path, char):
    topics = tmp_path / "t"
    topics.write_text(f"661{char}a dog\n", encoding="utf-8")
    with pytest.raises(InputError) as err:                 # '661<char>a' is no topic number
        parse_topics(topics)
    assert err.value.line == 1
    listed = tmp_path / "ids"
    listed.write_text(f"shot00001_1{char}shot00001_2\n", encoding="utf-8")
    assert read_id_list(listed) == {f"shot00001_1{char}shot00001_2"}


@pytest.mark.parametrize("char", PYTHON_ONLY_LINE_END)
def test_lines_end_at_newline_only(tmp_path, char):
    topics = tmp_path / "t"
    topics.write_text(f"661 a man{char}7 dogs\n662 b\n", encoding="utf-8", newline="")
    parsed = parse_topics(topics)
    assert parsed.ids == (661, 662) and parsed.texts[0] == f"a man{char}7 dogs".strip(PERL_SPACE)

    topics.write_text(f"661 a{char}b\n662 c\n\nbad\n", encoding="utf-8", newline="")
    with pytest.raises(InputError) as err:
        parse_topics(topics)
    assert err.value.line == 4

    gt = tmp_path / "gt"
    gt.write_text(f"c1\tv1{char}x\nc2\tv2\nbad\n", encoding="utf-8", newline="")
    with pytest.raises(InputError) as err:
        read_ground_truth(gt)
    assert err.value.line == 3

    qrels = tmp_path / "q"
    qrels.write_text(f"1661 0 shot00001_1{char} 1 1\n1661 0 shot00001_2 1 0\n"
                     f"1661 0 shot00001_3 1 maybe\n", encoding="utf-8", newline="")
    with pytest.raises(InputError) as err:
        parse_qrels(qrels)
    assert err.value.line == 3 and "maybe" in str(err.value)


@pytest.mark.parametrize("char", ["\x1c", "\x0c", "\u2028", "\x85"])
def test_validate_names_the_right_line(tmp_path, char):
    run = tmp_path / "r"
    run.write_text(f"1661 Q0 shot00001_1{char} 1 0.9 t\n1661 Q0 shot00001_2 2 t\n",
                   encoding="utf-8", newline="")
    problems = check_run_file(run, Expectations(load_topics("tv21")))
    wrong_count = [p for p in problems if "expected 6 whitespace-separated fields" in p.message]
    assert [p.line for p in wrong_count] == [2]


def test_crlf_is_one_line_end():
    assert text_lines("a\r\nb\rc\n") == ["a", "b\rc", ""]


# --- numbers: ASCII decimal numbers only ------------------------------------------------------

#: Digits that float() and int() read as 1 (and str.isdigit() takes) that sample_eval.pl does not.
OTHER_ONES = ["\uff11", "\u0661", "\u06f1", "\u0967", "\U0001d7cf", "\u00b9"]
#: The grammar of a decimal number, written here as the reference.
ASCII_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


@pytest.mark.parametrize("one", OTHER_ONES)
def test_run_scores_and_judgments_take_ascii_digits_only(tmp_path, one):
    run = tmp_path / "r"
    run.write_text(f"1661 Q0 shot00001_1 1 0.9 t\n\n1661 Q0 shot00001_2 2 0.{one} t\n",
                   encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_run(run)
    assert err.value.line == 3 and "ASCII digits" in str(err.value)
    qrels = tmp_path / "q"
    qrels.write_text(f"1661 0 shot00001_1 1 {one}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_qrels(qrels)
    assert err.value.line == 1 and "ASCII digits" in str(err.value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.eE+-_ \xa0\uff11\u0661xn", min_size=1, max_size=8),
                min_size=1, max_size=5), st.booleans())
def test_numbers_are_read_as_the_grammar_says(tokens, few_values):
    tokens = [t for t in tokens if split_fields(t) == [t]]      # one field each
    assume(tokens)
    text = "\n".join(tokens)
    good = [ASCII_NUMBER.fullmatch(t) is not None and math.isfinite(float(t)) for t in tokens]
    if all(good):
        values = parse_numbers(tokens, text, "f", "score", few_values)
        assert values.tolist() == [float(t) for t in tokens]
    else:
        with pytest.raises(InputError) as err:
            parse_numbers(tokens, text, "f", "score", few_values)
        assert err.value.line == good.index(False) + 1


@pytest.mark.parametrize("one", OTHER_ONES[:2])
def test_other_readers_take_ascii_digits_only(tmp_path, one):
    boundaries = tmp_path / "00001.tsv"
    boundaries.write_text(f"startframe\tstarttime\tendframe\tendtime\n0\t0\t4\t0.2\n"
                          f"5\t0.2\t{one}0\t0.4\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_boundaries(boundaries)
    assert err.value.line == 3
    bigfile = tmp_path / "big"
    bigfile.mkdir()
    (bigfile / "shape.txt").write_text(f"{one} 2\n", encoding="utf-8")
    (bigfile / "id.txt").write_text("shot00001_1\n")
    (bigfile / "feature.bin").write_bytes(np.ones(2, dtype=np.float32).tobytes())
    with pytest.raises(InputError, match="two whole numbers"):
        read_bigfile(bigfile)
    xml = ('<?xml version="1.0"?>\n<videoAdhocSearchResults>\n'
           '<videoAdhocSearchRunResult pid="p" desc="d" trType="M" class="F" task="F" '
           'novelty="x">\n'
           f'<videoAdhocSearchTopicResult tNum="66{one}" elapsedTime="3">\n'
           '<item seqNum="1" shotId="shot00001_1"/>\n'
           '</videoAdhocSearchTopicResult>\n</videoAdhocSearchRunResult>\n'
           '</videoAdhocSearchResults>\n')
    with pytest.raises(InputError) as err:
        parse_avs_xml(xml.encode(), "x.xml")
    assert err.value.line == 4 and "tNum" in str(err.value)
    run = tmp_path / "r"
    run.write_text(f"1661 Q0 shot00001_1 1 0.{one} t\n", encoding="utf-8")
    problems = check_run_file(run, Expectations(load_topics("tv21")))
    assert any(p.line == 1 and "must be a finite number" in p.message for p in problems)
    csv = tmp_path / "s.csv"
    csv.write_text(f"param,value,infAP\nT,1,0.{one}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_sensitivity(csv)
    assert err.value.line == 2
    table = tmp_path / "clips.csv"                    # pandas leaves '１' a string: float() took it
    table.write_text(f"shot_id,video,start,end\nclip1,v.mp4,0,2\nclip2,v.mp4,{one},2\n",
                     encoding="utf-8")
    with pytest.raises(InputError, match="start and end must be seconds") as err:
        table_shots(table)
    assert err.value.line == 3


@pytest.mark.skipif(shutil.which("perl") is None, reason="needs perl as the reference")
@pytest.mark.parametrize("start", list(PERL_SPACE) + ["\r\n", "\n\n"])
def test_a_column_file_starting_with_white_space_is_refused(tmp_path, start):
    """Perl's split(/\\s+/) gives an empty first field there, so NIST's script reads every field
    shifted by one: no number it prints would be the toolkit's."""
    line = "1661 Q0 shot00001_1 1 0.5 t\n"
    assert perl_split((start + line).encode())[:2] == ["", "1661"]
    run = tmp_path / "r"
    run.write_text(start + line, encoding="utf-8", newline="")
    with pytest.raises(InputError, match="starts with white space") as err:
        parse_run(run)
    assert err.value.line == 1
    qrels = tmp_path / "q"
    qrels.write_text(start + "1661 0 shot00001_1 1 1\n", encoding="utf-8", newline="")
    with pytest.raises(InputError, match="starts with white space"):
        parse_qrels(qrels)
