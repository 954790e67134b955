"""Independent references for pool-coverage tests: the shipped qrels and a run's ranking, read
here with plain Python instead of the toolkit's readers."""
import gzip

from trecvid_fpig.formats.topics import resolve_qrels


def qrels_pool(year):
    """{topic: {shot: judgment}} read straight from the shipped qrels file."""
    pool = {}
    for line in gzip.open(resolve_qrels(year), "rt"):
        topic, _, shot, _, judgment = line.split()
        pool.setdefault(topic, {})[shot] = int(judgment)
    return pool


def nist_ranking(lines):
    """{topic: [shot, …]} of TREC run lines in NIST's order: a shot's last score, score
    descending, shot id descending."""
    last = {}
    for line in lines:
        topic, _, shot, _, score, _ = line.split()
        last.setdefault(topic, {})[shot] = float(score)
    return {t: [s for s, _ in sorted(shots.items(), key=lambda x: (x[1], x[0]), reverse=True)]
            for t, shots in last.items()}
