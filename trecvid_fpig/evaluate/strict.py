"""What scoring a TRECVID submission means: the checks NIST applies before a run is scored."""
from __future__ import annotations

from typing import List

from ..qrels import MAX_RESULT_SIZE, Qrels
from ..runs import SHOT_ID, Run


#: How NIST writes a topic in qrels and runs: 1 followed by the 3-digit topic number.
NIST_TOPIC_FORM = "1 + the 3-digit topic number, e.g. 1661 for topic 661"


def _meant_topic(topic: str, qrels: Qrels) -> str:
    """The qrels topic a run topic the qrels lack was probably meant to be, or ''."""
    number = int(topic)
    for candidate in (str(number), f"1{number:03d}" if number < 1000 else ""):
        if candidate and candidate != topic and candidate in qrels.topics:
            return candidate
    return ""


def unknown_topics(qrels: Qrels, run: Run) -> List[str]:
    """Run topics the qrels do not judge (skipped when scoring), each with what it may mean."""
    described = []
    for topic in run.topics:
        if topic not in qrels.topics:
            meant = _meant_topic(topic, qrels)
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


def submission_violations(qrels: Qrels, run: Run, limit: int = MAX_RESULT_SIZE) -> List[str]:
    """Human-readable violations, empty when the run is a valid submission for these qrels."""
    problems = []
    missing = [t for t in qrels.topics if t not in run.topics]
    if missing:
        problems.append(f"{len(missing)} qrels topic(s) missing from the run (scored 0): "
                        + ", ".join(missing))
    unknown = unknown_topics(qrels, run)
    if unknown:
        problems.append(f"{len(unknown)} run topic(s) the qrels do not judge (not scored): "
                        + ", ".join(unknown))
    for topic, ranking in run.topics.items():
        if ranking.num_lines > limit:
            problems.append(f"topic {topic}: {ranking.num_lines} lines, at most {limit} allowed")
        if ranking.repeated:
            shown = ", ".join(ranking.repeated[:5])
            more = f" (+{len(ranking.repeated) - 5} more)" if len(ranking.repeated) > 5 else ""
            problems.append(f"topic {topic}: {len(ranking.repeated)} shot(s) listed more than once: "
                            f"{shown}{more}")
        malformed = [s for s in ranking.shots if not SHOT_ID.match(s)]
        if malformed:
            problems.append(f"topic {topic}: {len(malformed)} shot id(s) not of the form "
                            f"shotVVVVV_N: " + ", ".join(malformed[:5]))
    return problems
