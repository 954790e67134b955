"""What scoring a TRECVID submission means: the rules NIST applies before a run is scored.

The rules are the ones ``runs check`` applies (:class:`~trecvid_fpig.evaluate.submission_rules.SubmissionRules`),
with the qrels' topics as the topic set, so both commands give one verdict on a file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

from ..formats.id_lists import dropped_shots
from ..formats.qrels import MAX_RESULT_SIZE, Qrels
from ..formats.runs import Run
from ..formats.topics import REGISTRY, shipped_path
from .submission_rules import (NIST_TOPIC_FORM, OVER_LIMIT, REPEATED_SHOT, UNKNOWN_TOPIC,
                               SubmissionRules, expected_topics, read_submission, run_submission)

#: How the rules name the qrels' topics in a message.
QRELS = "the qrels"


#: What sample_eval.pl does with what each rule finds, said after the rule's first problem.
_SCORED_AS = {UNKNOWN_TOPIC: "skipped, as sample_eval.pl skips a topic the qrels lack",
              OVER_LIMIT: f"scored on the first {MAX_RESULT_SIZE} as ranked, as sample_eval.pl "
                          f"reads them",
              REPEATED_SHOT: "each keeps its last line's score, as sample_eval.pl reads it"}


def score_warnings(qrels: Qrels, run: Run) -> List[str]:
    """What plain ``score`` warns about, one line a kind: run topics the qrels lack, topics over
    1000 shots and repeated shots, found by the submission rules ``--strict`` applies (on the
    run as read, so a pipe is not read again), and a run mixing the 3-digit and NIST forms."""
    rules = SubmissionRules(run.path, list(qrels.topics), QRELS)
    found: Dict[str, List[str]] = {}
    for problem in rules.check(run_submission(run)):
        if problem.rule in _SCORED_AS:
            found.setdefault(problem.rule, []).append(problem.message)
    warnings = []
    for rule, messages in ((r, found[r]) for r in _SCORED_AS if r in found):
        shown = "; ".join(messages[:3])
        more = f"; and {len(messages) - 3} more like it" if len(messages) > 3 else ""
        warnings.append(f"{shown}{more}: {_SCORED_AS[rule]}")
    empty = [t for t, ranking in run.topics.items() if not ranking.shots]
    if empty:
        warnings.append(f"topic(s) {', '.join(empty[:5])}{' …' if len(empty) > 5 else ''} hold "
                        f"no shots: skipped, as their TREC form has no line")
    short = [t for t in run.topics if len(t.lstrip("0")) <= 3]
    long = [t for t in run.topics if len(t.lstrip("0")) == 4 and t.lstrip("0")[0] == "1"]
    if short and long:
        warnings.append(f"the run mixes topic forms {short[0]} and {long[0]}: NIST writes topics "
                        f"as {NIST_TOPIC_FORM}")
    return warnings


def qrels_collection(qrels: Qrels) -> Optional[str]:
    """The collection of a shipped year's qrels (tv21: V3C1); None for other qrels files."""
    for info in REGISTRY.values():
        if info.qrels and Path(qrels.path) == shipped_path("qrels/" + info.qrels):
            return info.collection
    return None


def submission_violations(qrels: Qrels, run: Run, limit: int = MAX_RESULT_SIZE) -> List[str]:
    """The rules' problems, ``line N: what`` where the file is at hand to name lines; empty
    when the run is a valid submission for these qrels.

    The run's file is read again for its lines, by the reader that read the run; a run from
    standard input or built in memory is held to the same rules without lines.
    """
    readable = run.path != "-" and os.path.isfile(run.path)
    submission = read_submission(run.path) if readable else run_submission(run)
    topics = expected_topics(qrels.topics, submission.xml is not None)
    dropped = dropped_shots(qrels_collection(qrels))
    problems = SubmissionRules(run.path, topics, QRELS, dropped=dropped, limit=limit).check(submission)
    return [f"line {p.line}: {p.message}" if p.line else p.message for p in problems]
