"""sample_eval.pl's output, byte for byte: tabs, ``%6.4f``, iP1000 printed twice and all."""
from __future__ import annotations

from typing import List, Sequence, Tuple

from .xinfap import PRECISION_RANKS, RECALL_LEVELS, RunResult, TopicResult


def _measure_lines(label: str, infap: float, ndcg: float, precision, rel_ret: float,
                   num_rel: float, num_ret: int, iprec=None) -> List[str]:
    lines = [f"infAP\t\t{label}\t\t{infap:6.4f}", f"infNDCG\t\t{label}\t\t{ndcg:6.4f}"]
    if iprec is not None:
        lines += [f"iprec@rec{level:4.2f}\t{label}\t\t{value:6.4f}"
                  for level, value in zip(RECALL_LEVELS, iprec)]
    lines += [f"iP{cutoff}\t\t{label}\t\t{value:6.4f}" for cutoff, value in zip(PRECISION_RANKS, precision)]
    lines += [f"inum_rel_ret\t{label}\t{rel_ret:14.4f}", f"inum_rel\t{label}\t{num_rel:14.4f}",
              f"num_ret\t\t{label}\t{num_ret:9d}"]
    return lines


def _topic_lines(t: TopicResult) -> List[str]:
    return _measure_lines(t.topic, t.infAP, t.infNDCG, t.precision, t.inum_rel_ret, t.inum_rel, t.num_ret)


def format_sample_eval(result: RunResult, per_topic: bool = False) -> str:
    """What ``perl sample_eval.pl [-q] QRELS RUN`` prints for this run."""
    lines: List[str] = []
    if per_topic:
        for t in result.topics:
            lines += _topic_lines(t)
    lines += _measure_lines("all", result.infAP, result.infNDCG, result.precision, result.inum_rel_ret,
                            result.inum_rel, result.num_ret, result.iprec_at_recall)
    return "\n".join(lines) + "\n"


def format_sample_eval_runs(runs: Sequence[Tuple[str, RunResult]], per_topic: bool = False) -> str:
    """Each run's block as :func:`format_sample_eval` prints it; NIST's script scores one run a
    call, so with several runs a ``# RUN PATH`` line opens each block (none for a single run,
    whose output stays byte-identical to the script's)."""
    if len(runs) == 1:
        return format_sample_eval(runs[0][1], per_topic)
    return "".join(f"# RUN {path}\n" + format_sample_eval(result, per_topic) for path, result in runs)
