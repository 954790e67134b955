"""`runs check` and `score` give one verdict on the same file: both refuse it, with the same
first reason, or check lists exactly the problems that `score --strict` warns about.

Each case is a tv21 submission with one fault; both commands read it through the CLI.
"""
import re

import pytest
from support.cli import invoke

HEAD = ('<?xml version="1.0"?>\n<videoAdhocSearchResults>\n<videoAdhocSearchRunResult pid="p" '
        'desc="d" trType="D" class="F" task="M" novelty="C" priority="1">\n')
TAIL = '</videoAdhocSearchRunResult>\n</videoAdhocSearchResults>\n'
ITEM = '<item seqNum="1" shotId="shot00001_1"/>\n'


def xml_run(first_topic_items=ITEM, nested=False):
    """Topics 661-680 with one item each; topic 661 holds `first_topic_items`; with `nested`
    topic 663 is written inside topic 662."""
    body = ""
    for tnum in range(661, 681):
        items = first_topic_items if tnum == 661 else ITEM
        if nested and tnum == 662:
            body += (f'<videoAdhocSearchTopicResult tNum="662" elapsedTime="3">\n{ITEM}'
                     f'<videoAdhocSearchTopicResult tNum="663" elapsedTime="3">\n{ITEM}'
                     '</videoAdhocSearchTopicResult>\n</videoAdhocSearchTopicResult>\n')
        elif not (nested and tnum == 663):
            body += f'<videoAdhocSearchTopicResult tNum="{tnum}" elapsedTime="3">\n{items}' \
                    '</videoAdhocSearchTopicResult>\n'
    return (HEAD + body + TAIL).encode()


def trec_run(score_of_first="0.5", topic_form=str):
    return "".join(f"{topic_form(t)} Q0 shot00001_1 1 {score_of_first if t == 1661 else '0.5'} t\n"
                   for t in range(1661, 1681)).encode()


BOM = b"\xef\xbb\xbf"

#: Files both commands must refuse, and the reason both give first.
REFUSED = {
    "seqnum-missing.xml": (xml_run('<item shotId="shot00001_1"/>\n'), "5: item needs seqNum"),
    "seqnum-negative.xml": (xml_run('<item seqNum="-1" shotId="shot00001_1"/>\n'),
                            "5: item needs seqNum, a number in ASCII digits, got '-1'"),
    "seqnum-superscript.xml": (xml_run('<item seqNum="\u00b2" shotId="shot00001_1"/>\n'),
                               "5: item needs seqNum, a number in ASCII digits, got '\u00b2'"),
    "seqnum-twice.xml": (xml_run(ITEM + '<item seqNum="1" shotId="shot00002_1"/>\n'),
                         "6: seqNum 1 repeats line 5"),
    "nested.xml": (xml_run(nested=True), "9: videoAdhocSearchTopicResult inside the one of line 7"),
    "nan.txt": (trec_run("nan"), "1: score (column 5) must be a finite number, got 'nan'"),
    "inf.txt": (trec_run("inf"), "1: score (column 5) must be a finite number, got 'inf'"),
    "empty.txt": (b"", "empty run file"),
    "blank.txt": (b"\n\n", "empty run file"),
}

#: Files both commands accept without a word.
VALID = {
    "bom.txt": BOM + trec_run(),
    "bom.xml": BOM + xml_run(),
}


def check(*paths):
    result = invoke("runs", "check", "--topics", "tv21", *paths, ok=False)
    return result.exit_code, result.stdout.splitlines(), result.stderr


def score(path):
    """Exit code and stderr lines, less the pool-coverage warning every run here earns (one shot
    a topic, never pooled): the verdicts are about the file, not the pool."""
    result = invoke("score", "--qrels", "tv21", "--strict", "--format", "csv", path, ok=False)
    return result.exit_code, [line for line in result.stderr.splitlines()
                              if "underestimates this run" not in line]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_both_refuse_with_the_same_first_reason(tmp_path, name):
    content, reason = REFUSED[name]
    path = tmp_path / name
    path.write_bytes(content)
    code, problems, summary = check(path)
    assert code == 1 and problems and problems[0].startswith(f"{path}") and reason in problems[0]
    assert summary.strip() == f"fpig-trecvid: {len(problems)} problem(s) in 1 run(s)"
    if name.startswith(("empty", "blank")):
        assert len(problems) == 1           # not also "20 topic(s) of tv21 missing"
    if name == "nested.xml":                # the inner topic's items are not the outer one's
        assert problems[1:] == [f"{path}: 1 topic(s) of tv21 missing: 663"]
    code, errors = score(path)
    assert code == 2 and errors == [f"fpig-trecvid: error: {problems[0]}"]


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_byte_order_mark_is_skipped_by_both(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(VALID[name])
    assert check(path) == (0, ["1 run(s) valid for tv21"], "")
    assert score(path) == (0, [])


def test_the_summary_counts_only_the_runs_with_problems(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes(trec_run())
    bad.write_bytes(trec_run("nan"))
    code, problems, summary = check(good, bad, tmp_path / "good.txt")
    assert code == 1 and len(problems) == 1
    assert summary.strip() == "fpig-trecvid: 1 problem(s) in 1 run(s)"



def repeated_shot_run():
    return trec_run() + b"1661 Q0 shot00001_1 2 0.4 t\n"


#: Files both commands read and find the same problems in (score: --strict's violations).
FAULTY = {
    "topic-form.txt": trec_run(topic_form=lambda t: f"0{t}" if t == 1675 else str(t)),
    "topic-missing.txt": b"".join(line + b"\n" for line in trec_run().splitlines()
                                  if not line.startswith(b"1680")),
    "shot-repeated.txt": repeated_shot_run(),
    "shot-id.txt": trec_run().replace(b"1662 Q0 shot00001_1", b"1662 Q0 shot1_1"),
    "over-1000.txt": trec_run() + b"".join(f"1661 Q0 shot{i:05d}_2 {i} 0.1 t\n".encode()
                                           for i in range(1, 1001)),
    "dropped-shot.txt": trec_run().replace(b"1662 Q0 shot00001_1", b"1662 Q0 shot05037_1"),
    "attribute.xml": xml_run().replace(b'trType="D"', b'trType="Z"'),
    "elapsed.xml": xml_run().replace(b'tNum="670" elapsedTime="3"', b'tNum="670" elapsedTime="2.5"'),
    "topic-missing.xml": xml_run().replace(b'tNum="680"', b'tNum="681"'),
}


def check_problems(path):
    """(line, message) of each problem `runs check` lists, the topic set named as score names it."""
    code, problems, _ = check(path)
    assert code == 1
    found = []
    for problem in problems:
        where, message = problem[len(str(path)):].split(" ", 1)
        found.append((where.strip(":") or None, message.replace("tv21", "the qrels")))
    return found


def score_violations(path):
    code, lines = score(path)
    assert code == 1
    prefix = f"fpig-trecvid: {path}: "
    assert all(line.startswith(prefix) for line in lines), lines
    found = []
    for line in lines:
        match = re.match(r"line (\d+): (.*)", line[len(prefix):])
        found.append(match.groups() if match else (None, line[len(prefix):]))
    return found


@pytest.mark.parametrize("name", sorted(FAULTY))
def test_check_lists_what_strict_score_reports(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(FAULTY[name])
    assert check_problems(path) == score_violations(path)


def test_a_misspelt_topic_is_named_once(tmp_path):
    path = tmp_path / "topic-form.txt"
    path.write_bytes(FAULTY["topic-form.txt"])
    code, lines = score(path)
    assert sum("01675" in line for line in lines) == 1
    assert "it has 1675: NIST writes topics as 1 + the 3-digit" in "".join(lines)
