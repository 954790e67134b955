"""Hostile run files, submissions and run options (issues 32, 33): each once gave a traceback, a
hang or an invalid submission; now each is one clear line naming the file and line (or the
argument) and a non-zero exit, or a valid output with what was changed said on stderr."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.cli import invoke

import trecvid_fpig as tf
from trecvid_fpig.errors import InputError
from trecvid_fpig.evaluate.submission_rules import Expectations, check_run_file
from trecvid_fpig.formats.avs_xml import parse_avs_xml
from trecvid_fpig.formats.topics import parse_topics

QRELS = "1661 0 shot00001_1 1 1\n1661 0 shot00001_2 1 0\n1662 0 shot00002_1 1 1\n"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<videoAdhocSearchResults>\n'
        '<videoAdhocSearchRunResult trType="D" class="F" task="M" novelty="C" pid="x" '
        'priority="1" desc="d">\n')
TAIL = "</videoAdhocSearchRunResult>\n</videoAdhocSearchResults>\n"


def topic(tnum, *items):
    """A topic element; items are (seqNum, shotId)."""
    body = "".join(f'<item seqNum="{seq}" shotId="{shot}"/>\n' for seq, shot in items)
    return (f'<videoAdhocSearchTopicResult tNum="{tnum}" elapsedTime="1">\n{body}'
            "</videoAdhocSearchTopicResult>\n")


def xml(*topics):
    return HEAD + "".join(topics) + TAIL


@pytest.fixture
def qrels(tmp_path):
    path = tmp_path / "qrels.txt"
    path.write_text(QRELS)
    return path


def test_an_empty_topic_is_one_without_lines_as_in_the_trec_form(tmp_path, qrels):
    """An empty XML topic gave IndexError in the scorer: now it is what its TREC form holds
    (no line), skipped by a plain score and 0 for --strict."""
    run = tmp_path / "r.xml"
    run.write_text(xml(topic(661), topic(662, (1, "shot00002_1"))))
    plain = tf.score(run, qrels)
    assert plain["topics"][0] == 1 and plain["infAP"][0] == pytest.approx(1.0)
    strict = tf.score(run, qrels, strict=True)
    assert strict["topics"][0] == 2 and strict["infAP"][0] == pytest.approx(0.5)


def test_a_run_of_empty_topics_is_refused_in_one_line(tmp_path, qrels):
    with pytest.raises(InputError, match="holds no shots"):
        tf.score({"1661": {}}, qrels)
    run = tmp_path / "r.xml"
    run.write_text(xml(topic(661)))
    result = invoke("score", "--qrels", qrels, run, ok=False)
    assert result.exit_code == 2 and "holds no shots" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("seq, reason", [("²", "ASCII digits"), ("9" * 5000, "5000 digits")])
def test_a_bad_seqnum_is_refused_at_its_line(tmp_path, seq, reason):
    raw = xml(topic(661, (seq, "shot00001_1"))).encode()
    with pytest.raises(InputError, match=reason) as caught:
        parse_avs_xml(raw, "r.xml")
    assert caught.value.line == 5
    run = tmp_path / "r.xml"
    run.write_bytes(raw)
    expect = Expectations(parse_topics_file(tmp_path))
    assert any(p.line == 5 and reason in p.message for p in check_run_file(run, expect))


@pytest.mark.parametrize("document, line, reason", [
    (xml(topic("6²1", (1, "shot00001_1"))), 4, "tNum must be"),
    (xml(topic(661, (1, "shot00001_1")).replace("</video", topic(662) + "</video", 1)), 6,
     "inside the one of line 4"),
])
def test_a_bad_topic_element_is_refused_at_its_line(document, line, reason):
    with pytest.raises(InputError, match=reason) as caught:
        parse_avs_xml(document.encode(), "r.xml")
    assert caught.value.line == line


def parse_topics_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("661 a dog\n662 a cat\n")
    return parse_topics(path)


@pytest.mark.parametrize("elapsed", ["nan", "inf", "-inf", "1e300", "-1", "86400001"])
def test_elapsed_beyond_a_day_times_1000_is_refused(tmp_path, elapsed):
    """FloatRange let NaN and infinity through to math.ceil, and 1e300 became a 301-digit
    elapsedTime."""
    run = tmp_path / "r.txt"
    run.write_text("1661 Q0 shot00001_1 1 0.9 t\n")
    result = invoke("runs", "convert", "--to", "xml", "--elapsed", elapsed, run,
                    tmp_path / "o.xml", ok=False)
    assert result.exit_code == 2 and "--elapsed" in result.stderr
    assert "86,400,000" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.xml").exists()


def test_elapsed_within_the_bound_is_written_in_whole_seconds(tmp_path):
    run = tmp_path / "r.txt"
    run.write_text("1661 Q0 shot00001_1 1 0.9 t\n")
    invoke("runs", "convert", "--to", "xml", "--elapsed", "86399999.5", run, tmp_path / "o.xml")
    assert 'elapsedTime="86400000"' in (tmp_path / "o.xml").read_text()


TREC_RUN = "1661 Q0 shot00001_1 1 0.9 t\n1661 Q0 shot00001_2 2 0.5 t\n1662 Q0 shot00002_1 1 0.7 t\n"


def through_a_fifo(tmp_path, content: str, read):
    """`read(fifo)` while a writer thread feeds `content` once; a second read of the pipe would
    block for ever, so the reader runs in a thread and a stuck one fails the test (and is freed)."""
    import os
    import threading

    fifo = tmp_path / "run.fifo"
    os.mkfifo(fifo)
    outcome = {}

    def writer():
        with open(fifo, "w") as fh:
            fh.write(content)

    def reader():
        try:
            outcome["value"] = read(fifo)
        except BaseException as exc:        # noqa: B902 - handed to the test thread
            outcome["error"] = exc

    threads = [threading.Thread(target=f, daemon=True) for f in (writer, reader)]
    for t in threads:
        t.start()
    threads[1].join(timeout=20)
    stuck = threads[1].is_alive()
    if stuck:                               # free the reader blocked on a second open
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        threads[1].join(timeout=5)
    assert not stuck, "the reader opened the pipe a second time and waited for ever"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.parametrize("content", [TREC_RUN, xml(topic(661, (1, "shot00001_1")))])
def test_a_run_from_a_pipe_is_read_once(tmp_path, content):
    """read_any_run read the file twice: a FIFO hung, and <(cat run) read as 'empty'."""
    from trecvid_fpig.formats.runs import read_any_run

    run = through_a_fifo(tmp_path, content, read_any_run)
    assert "1661" in run.topics


def test_score_and_check_and_convert_read_a_pipe_once(tmp_path, qrels):
    topics = tmp_path / "t.txt"
    topics.write_text("661 a dog\n662 a cat\n")
    scored = through_a_fifo(tmp_path, TREC_RUN, lambda f: invoke("score", "--qrels", qrels, f))
    assert "run.fifo" in scored.stdout
    (tmp_path / "run.fifo").unlink()
    checked = through_a_fifo(tmp_path, TREC_RUN, lambda f: invoke("runs", "check", "--topics",
                                                                  topics, f))
    assert "valid" in checked.stdout
    (tmp_path / "run.fifo").unlink()
    through_a_fifo(tmp_path, xml(topic(661, (1, "shot00001_1"))),
                   lambda f: invoke("runs", "convert", "--to", "trec", f, tmp_path / "o.txt"))
    assert (tmp_path / "o.txt").read_text().startswith("1661 Q0 shot00001_1 1 ")


def test_a_truncated_gzip_on_standard_input_is_one_line(qrels):
    import gzip

    from support.cli import runner
    from trecvid_fpig.cli import cli

    result = runner().invoke(cli, ["score", "--qrels", str(qrels), "-"],
                             input=gzip.compress(TREC_RUN.encode())[:20])
    assert result.exit_code == 2 and "not a complete gzip stream" in result.stderr
    assert result.stderr.startswith("fpig-trecvid: error: -") and "Traceback" not in result.stderr


def submission_sizes(path):
    """Shots a topic of an AVS XML, as NIST's reader finds them."""
    return {t.tnum: len(t.shots) for t in parse_avs_xml(path.read_bytes(), path).topics}


def test_run_xml_keeps_1000_a_topic_and_says_so(tmp_path):
    """`run --xml --top 2000` wrote 2000 items a topic: an invalid submission."""
    import numpy as np

    from trecvid_fpig.formats.store import convert_features

    rng = np.random.default_rng(0)
    np.save(tmp_path / "shots.npy", rng.standard_normal((1200, 8)).astype(np.float32))
    (tmp_path / "shots.ids.txt").write_text("".join(f"shot{i:05d}_1\n" for i in range(1200)))
    convert_features(tmp_path / "shots.npy", tmp_path / "shots.fpig")
    (tmp_path / "t.txt").write_text("661 a dog\n662 a cat\n")
    np.save(tmp_path / "q.npy", rng.standard_normal((2, 8)).astype(np.float32))
    result = invoke("run", "--query-features", tmp_path / "q.npy", "--features",
                    tmp_path / "shots.fpig", "--topics", tmp_path / "t.txt", "--run-id", "r",
                    "--out-dir", tmp_path / "runs", "--top", "1100", "--xml")
    out = tmp_path / "runs" / "r"
    assert submission_sizes(out / "t.xml") == {661: 1000, 662: 1000}
    assert len((out / "t.txt").read_text().splitlines()) == 2200
    assert "t.xml holds the first 1000 of each topic's 1100 shots" in result.stderr
    ranked = [line.split()[2] for line in (out / "t.txt").read_text().splitlines()[:1000]]
    assert list(parse_avs_xml((out / "t.xml").read_bytes(), "t.xml").topics[0].shots) == ranked


def test_convert_to_xml_cuts_at_1000_and_names_repeated_shots(tmp_path):
    """runs convert --to xml wrote 1200 items a topic with exit 0 and dropped repeats silently."""
    lines = [f"1661 Q0 shot{i:05d}_1 {i + 1} {2000 - i} t\n" for i in range(1200)]
    lines.append("1661 Q0 shot00007_1 9 0.5 t\n")           # a repeat: its last line counts
    lines.append("1662 Q0 shot00002_1 1 0.7 t\n")
    run = tmp_path / "r.txt"
    run.write_text("".join(lines))
    result = invoke("runs", "convert", "--to", "xml", run, tmp_path / "o.xml")
    assert submission_sizes(tmp_path / "o.xml") == {661: 1000, 662: 1}
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 2 and "Traceback" not in result.stderr
    assert "topic 1661: 1 shot(s) on more than one line" in warnings[0]
    assert "shot00007_1" in warnings[0]
    assert "topic 1661: 1200 shots; the XML keeps the first 1000" in warnings[1]
    assert "200 left out" in warnings[1]
    shots = parse_avs_xml((tmp_path / "o.xml").read_bytes(), "o.xml").topics[0].shots
    expected = [f"shot{i:05d}_1" for i in range(1201) if i != 7][:1000]
    assert list(shots) == expected     # shot 7 moved to its last line's score, below the cut


def test_the_xml_writer_refuses_an_invalid_submission(tmp_path):
    from trecvid_fpig.formats.avs_xml import RunAttributes, write_avs_xml

    attributes = RunAttributes(pid="p", desc="d")
    with pytest.raises(InputError, match="at most 1000"):
        write_avs_xml(tmp_path / "a.xml", attributes,
                      [(661, 1, [f"shot{i:05d}_1" for i in range(1001)])])
    with pytest.raises(InputError, match="shot00001_1 is given twice"):
        write_avs_xml(tmp_path / "b.xml", attributes, [(661, 1, ["shot00001_1"] * 2)])
    assert not list(tmp_path.iterdir())


def warnings_of(result):
    return [line for line in result.stderr.splitlines() if ": warning: " in line]


def test_plain_score_warns_once_a_kind_about_what_strict_refuses(tmp_path, qrels):
    """Plain score was silent about topics the qrels lack, topics over 1000 shots and repeats."""
    lines = [f"1661 Q0 shot{i:05d}_1 {i + 1} {2000 - i} t\n" for i in range(1200)]
    lines += ["1661 Q0 shot00007_1 9 0.5 t\n", "1662 Q0 shot00002_1 1 0.7 t\n",
              "1662 Q0 shot00002_1 1 0.7 t\n", "1699 Q0 shot00002_1 1 0.7 t\n"]
    run = tmp_path / "r.txt"
    run.write_text("".join(lines))
    result = invoke("score", "--qrels", qrels, run)
    found = warnings_of(result)
    assert len(found) == 3, result.stderr
    assert "topic 1699 is not in the qrels" in found[0] and "skipped" in found[0]
    assert "topic 1661 has more than 1000 shots" in found[1] and "first 1000" in found[1]
    assert "shot shot00007_1 repeats in topic 1661; shot shot00002_1 repeats in topic 1662" \
        in found[2]
    clean = tmp_path / "clean.txt"
    clean.write_text(TREC_RUN)
    assert not warnings_of(invoke("score", "--qrels", qrels, clean))


def test_plain_score_hints_nist_form_for_a_3_digit_topic(tmp_path, qrels):
    run = tmp_path / "r.txt"
    run.write_text(TREC_RUN + "661 Q0 shot00001_1 1 0.9 t\n")
    found = warnings_of(invoke("score", "--qrels", qrels, run))
    assert any("topic 661 is not in the qrels (it has 1661: NIST writes topics as 1 + the "
               "3-digit" in line for line in found), found
    assert any("mixes topic forms 661 and 1661" in line for line in found)


ODD_VALUES = ["661", "0661", "1661", "0", "1000", "6\u00b21", "\u00b2", "9" * 5000, "-1", "1.5",
              "", " 1", "\u0661", "shot00001_1", "shot00001_2", "shot\u00a01_1", "x" * 300, "&amp;",
              "nan", "1e3"]


@st.composite
def fuzzed_submissions(draw):
    """AVS XML built from topic and item elements with odd attribute values, nested, empty,
    repeated, stray or cut short; sometimes arbitrary bytes."""
    from xml.sax.saxutils import quoteattr

    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    value = st.sampled_from(ODD_VALUES)
    seq = st.one_of(st.sampled_from(["1", "2", "3"]), value)             # mostly valid, so that
    shot = st.one_of(st.sampled_from(["shot00001_1", "shot00002_1"]), value)  # scoring is reached
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["topic", "topic", "nested", "item", "other"]))
        if kind == "item":
            parts.append(f"<item seqNum={quoteattr(draw(seq))} shotId={quoteattr(draw(shot))}/>")
            continue
        if kind == "other":
            parts.append(draw(st.sampled_from(["<foo/>", "<videoAdhocSearchRunResult/>", "<!-- -->"])))
            continue
        items = [f"<item seqNum={quoteattr(draw(seq))} shotId={quoteattr(draw(shot))}/>"
                 for _ in range(draw(st.integers(0, 3)))]
        inner = (f'<videoAdhocSearchTopicResult tNum="662">{"".join(items)}'
                 "</videoAdhocSearchTopicResult>") if kind == "nested" else ""
        tnum = draw(st.one_of(st.sampled_from(["661", "662"]), value))     # mostly judged
        parts.append(f"<videoAdhocSearchTopicResult tNum={quoteattr(tnum)} "
                     f"elapsedTime={quoteattr(draw(value))}>{''.join(items)}{inner}"
                     "</videoAdhocSearchTopicResult>")
    document = (HEAD + "\n".join(parts) + TAIL).encode()
    return document[:draw(st.integers(0, len(document)))] if draw(st.integers(0, 5)) == 0 \
        else document


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=fuzzed_submissions())
def test_fuzzed_submissions_read_check_and_score_cleanly(tmp_path, qrels, document):
    """Whatever the XML holds: the reader, the rules and the scorer give a result or an
    InputError, never another exception."""
    from trecvid_fpig.formats.runs import read_any_run

    run_path = tmp_path / "r.xml"
    run_path.write_bytes(document)
    check_run_file(run_path, Expectations(parse_topics_file(tmp_path)))
    try:
        run = read_any_run(run_path)
    except InputError:
        return
    assert all(len(set(r.shots)) == len(r.shots) for r in run.topics.values())
    for strict in (False, True):
        try:
            tf.score(run, qrels, strict=strict)
        except InputError:
            pass


@pytest.mark.parametrize("elapsed, reason", [("86400001", "elapsedTime 86400001 is past"),
                                             ("9" * 5000, "elapsedTime of 5000 digits")])
def test_check_refuses_an_absurd_elapsed_time(tmp_path, elapsed, reason):
    """runs check took a 301-digit elapsedTime (what --elapsed 1e300 wrote) as valid."""
    run = tmp_path / "r.xml"
    run.write_text(xml(topic(661, (1, "shot00001_1")), topic(662, (1, "shot00002_1")))
                   .replace('elapsedTime="1"', f'elapsedTime="{elapsed}"', 1))
    problems = check_run_file(run, Expectations(parse_topics_file(tmp_path)))
    assert [(p.line, reason in p.message) for p in problems] == [(4, True)]


def test_plain_score_names_an_empty_topic(tmp_path, qrels):
    run = tmp_path / "r.xml"
    run.write_text(xml(topic(661), topic(662, (1, "shot00002_1"))))
    found = warnings_of(invoke("score", "--qrels", qrels, run))
    assert len(found) == 1 and "topic(s) 1661 hold no shots: skipped" in found[0]
