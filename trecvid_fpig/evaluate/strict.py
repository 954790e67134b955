"""What scoring a TRECVID submission means: the rules NIST applies before a run is scored.

The rules are the ones ``runs check`` applies (:class:`~trecvid_fpig.evaluate.submission_rules.SubmissionRules`),
with the qrels' topics as the topic set, so both commands give one verdict on a file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

from ..formats.id_lists import dropped_shots
from ..formats.qrels import MAX_RESULT_SIZE, Qrels
from ..formats.runs import Run
from ..formats.topics import REGISTRY, shipped_path
from .submission_rules import (NIST_TOPIC_FORM, SubmissionRules, expected_topics, meant_topic,
                               read_submission, run_submission)

#: How the rules name the qrels' topics in a message.
QRELS = "the qrels"


def unknown_topics(qrels: Qrels, run: Run) -> List[str]:
    """Run topics the qrels do not judge (skipped when scoring), each with what it may mean."""
    described = []
    for topic in run.topics:
        if topic not in qrels.topics:
            meant = meant_topic(topic, qrels.topics)
            described.append(f"{topic} (the qrels have {meant})" if meant else topic)
    return described


def topic_form_warnings(qrels: Qrels, run: Run) -> List[str]:
    """Run topics written in another form than the qrels' (skipped, as sample_eval.pl skips
    them), and a run mixing the 3-digit and NIST forms."""
    warnings = []
    misspelt = [t for t in unknown_topics(qrels, run) if "the qrels have" in t]
    if misspelt:
        warnings.append(f"{len(misspelt)} run topic(s) are not in the qrels and skipped, though a "
                        f"qrels topic has the same number: {', '.join(misspelt[:5])}; NIST writes "
                        f"topics as {NIST_TOPIC_FORM}")
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
