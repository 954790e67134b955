"""What scoring a TRECVID submission means: the checks NIST applies before a run is scored."""
from __future__ import annotations

from typing import List

from ..qrels import MAX_RESULT_SIZE, Qrels
from ..runs import SHOT_ID, Run


def submission_violations(qrels: Qrels, run: Run, limit: int = MAX_RESULT_SIZE) -> List[str]:
    """Human-readable violations, empty when the run is a valid submission for these qrels."""
    problems = []
    missing = [t for t in qrels.topics if t not in run.topics]
    if missing:
        problems.append(f"{len(missing)} qrels topic(s) missing from the run (scored 0): "
                        + ", ".join(missing))
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
