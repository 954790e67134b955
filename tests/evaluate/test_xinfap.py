"""The estimator against a scalar reference written from the published formulas, and its invariants."""
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trecvid_fpig.evaluate.xinfap import evaluate_run
from trecvid_fpig.formats.qrels import parse_qrels
from trecvid_fpig.formats.runs import parse_run


def reference_xinfap(qrels_lines, run_items, depth=1000):
    """Per-shot walk of Yilmaz et al. (SIGIR 2008) as TRECVID applies it; plain Python floats."""
    strata, judg = {}, {}
    for _, _, shot, s, j in qrels_lines:
        strata[shot], judg[shot] = s, j
    keys = sorted(set(strata.values()))
    N = {s: sum(1 for v in strata.values() if v == s) for s in keys}
    n = {s: sum(1 for sh in strata if strata[sh] == s and judg[sh] >= 0) for s in keys}
    r = {s: sum(1 for sh in strata if strata[sh] == s and judg[sh] > 0) for s in keys}
    rhat = sum(r[s] * N[s] / n[s] for s in keys if n[s])
    latest = dict(run_items)
    ranking = sorted(latest, key=lambda sh: (latest[sh], sh), reverse=True)[:depth]
    m = {s: 0 for s in keys}
    jd = {s: 0 for s in keys}
    rl = {s: 0 for s in keys}
    sap = {s: 0.0 for s in keys}
    for k, shot in enumerate(ranking, 1):
        s = strata.get(shot)
        if s is not None and judg[shot] > 0:
            pooled_above = sum(m.values())
            above = 0.0
            for t in keys:
                if pooled_above and m[t]:
                    above += m[t] / pooled_above * (rl[t] + 1e-5) / (jd[t] + 3e-5)
            sap[s] += 1 / k + pooled_above / k * above
        if s is not None:
            m[s] += 1
            jd[s] += judg[shot] >= 0
            rl[s] += judg[shot] > 0
    ap = 0.0
    for s in keys:
        if n[s] and rhat:
            ap += (r[s] * N[s] / n[s]) / rhat * (sap[s] / r[s] if r[s] else 0.0)
    if rhat > 1000:
        ap = ap * rhat / 1000
    est_rel_ret = sum(m[s] * (rl[s] + 1e-5) / (jd[s] + 3e-5) for s in keys)
    return ap, est_rel_ret, rhat


@st.composite
def pools(draw):
    nshots = draw(st.integers(1, 40))
    shots = [f"shot{i:05d}_1" for i in range(1, nshots + 1)]
    lines = []
    for shot in shots:
        stratum = draw(st.sampled_from(["1", "2", "3"]))
        judgment = draw(st.sampled_from([-1, 0, 1, 1, 2]))
        lines.append(("1661", "0", shot, stratum, judgment))
    extra = [f"shot{90000 + i}_1" for i in range(draw(st.integers(0, 10)))]   # never pooled
    ranked = draw(st.lists(st.sampled_from(shots + extra or shots), max_size=60))
    scores = draw(st.lists(st.integers(0, 8), min_size=len(ranked), max_size=len(ranked)))
    return lines, list(zip(ranked, [float(s) for s in scores]))


def write_case(d, lines, items, name="run"):
    (d / "qrels").write_text("".join(f"{t} {i} {sh} {s} {j}\n" for t, i, sh, s, j in lines))
    (d / name).write_text("".join(f"1661 Q0 {sh} 1 {v!r} T\n" for sh, v in items))
    return parse_qrels(d / "qrels"), parse_run(d / name)


@settings(max_examples=150, deadline=None)
@given(pools())
def test_matches_scalar_reference(tmp_path_factory, case):
    lines, items = case
    if not items:
        return
    qrels, run = write_case(tmp_path_factory.mktemp("x"), lines, items)
    got = evaluate_run(qrels, run).topics[0]
    ap, rel_ret, rhat = reference_xinfap(lines, items)
    assert got.infAP == pytest.approx(ap, rel=1e-12, abs=1e-15)
    assert got.inum_rel_ret == pytest.approx(rel_ret, rel=1e-12)
    assert got.inum_rel == pytest.approx(rhat, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(pools(), st.randoms())
def test_invariants(tmp_path_factory, case, rnd):
    lines, items = case
    if not items:
        return
    d = tmp_path_factory.mktemp("inv")
    qrels, run = write_case(d, lines, items)
    base = evaluate_run(qrels, run).topics[0]
    # only unpooled shots: nothing relevant can be retrieved
    _, unpooled = write_case(d, lines, [(f"shot{80000 + i}_1", float(i)) for i in range(5)], "u")
    zero = evaluate_run(qrels, unpooled).topics[0]
    assert zero.infAP == 0 and zero.infNDCG == 0
    # line order does not matter once repeats are resolved
    unique = list(dict(items).items())
    rnd.shuffle(unique)
    _, shuffled = write_case(d, lines, unique, "s")
    assert evaluate_run(qrels, shuffled).topics[0].infAP == base.infAP
    # shots appended below rank 1000 change no estimate
    padded = list(dict(items).items()) + [(f"shot{70000 + i}_1", -1.0 - i) for i in range(1000)]
    padded += [(shot, -5000.0) for shot, *_ in [(line[2],) for line in lines]
               if shot not in dict(items)]
    _, long_run = write_case(d, lines, padded, "p")
    deep = evaluate_run(qrels, long_run).topics[0]
    assert (deep.infAP, deep.infNDCG, deep.precision, deep.inum_rel_ret) == \
           (base.infAP, base.infNDCG, base.precision, base.inum_rel_ret)


def test_fully_judged_pool_is_close_to_trec_eval_ap(tmp_path):
    """With every pooled shot judged, xinfAP is AP up to the estimator's 1e-5 smoothing."""
    import ir_measures
    rnd = random.Random(7)
    lines = [("1661", "0", f"shot{i:05d}_1", "1", int(rnd.random() < 0.3)) for i in range(1, 301)]
    items = [(line[2], rnd.random()) for line in lines if rnd.random() < 0.8]
    qrels, run = write_case(tmp_path, lines, items)
    ours = evaluate_run(qrels, run).topics[0].infAP
    trec = ir_measures.calc_aggregate([ir_measures.AP], {"1661": {sh: j for _, _, sh, _, j in lines}},
                                      {"1661": dict(items)})[ir_measures.AP]
    assert ours == pytest.approx(trec, abs=1e-3)
    assert not math.isclose(ours, 0.0)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["1", "2", "3", "4"]),
                       st.one_of(st.integers(0, 1500).map(float), st.floats(0, 1500)), min_size=1))
def test_ideal_dcg_matches_the_scripts_loop(per_grade):
    from trecvid_fpig.formats.qrels import _ideal_dcg
    best, start = 0.0, 0.0
    for grade in sorted(per_grade, reverse=True):
        r = start + 1
        while r <= start + per_grade[grade]:
            best += float(grade) / (math.log(r + 1) / math.log(2))
            if r >= 1000:
                break
            r += 1
        start += per_grade[grade]
    assert _ideal_dcg(per_grade) == best
