"""Tables S1 (xinfAP per TRECVID year) and S2 (R@K on MSR-VTT) from a manifest.

Every cell is computed through the same code as ``score`` and ``recall``; a cell that cannot be
computed shows "–" and a footnote saying what to supply. Published rows (baselines) and the
published value of each reproduced cell (``against_paper``) come from ``runs/paper.toml``.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Sequence, Set, Tuple

from ..errors import InputError
from ..evaluate.score import extra_judgments_line
from .cache import ResultCache
from .cells import CellEvaluator, recall_needs, run_needs
from .formats import render
from .manifest import Manifest, ModelEntry, RecallEntry, checked_years
from .paper import RECALL_KS, RECALL_SETTINGS, S1_YEARS
from .published import Published, load_published

TABLES = ("s1", "s2", "s2-t2v")
TITLES = {"s1": "Table S1: infAP (xinfAP, as NIST's sample_eval.pl) on TRECVID AVS",
          "s2": "Table S2: video-to-text R@K (%) on MSR-VTT",
          "s2-t2v": "Table S2, text-to-video: R@K (%) on MSR-VTT"}
DEFAULT_DECIMALS = {"s1": 3, "s2": 1, "s2-t2v": 1}
#: The benchmark each R@K setting claims: (captions, videos) and captions a video. Published
#: numbers are only compared with results computed on exactly this shape.
BENCHMARK_SHAPES = {"msrvtt-1k": ((1000, 1000), 1), "msrvtt-3k": ((59_800, 2_990), 20)}
MISSING = "–"
PAPER, DELTA = " (paper)", " Δ"
#: The mark of a cell whose run NIST's pool barely covers, and its footnote.
LOW_COVERAGE = "§"
LOW_COVERAGE_NOTE = ("mean pooled@100 below 0.5: NIST's pool holds under half of the run's top 100 "
                     "shots, and infAP, which counts every unpooled shot not relevant, underestimates "
                     "it; infAP_condensed leaves those shots out (fpig-trecvid score --coverage)")
#: The mark of a cell scored with extra judgments (a 'qrels merge' file), so that it cannot
#: pass as NIST's; its footnote is the line ``score`` prints for such qrels.
EXTRA_JUDGMENTS = "¶"


@dataclass(frozen=True)
class PaperTable:
    key: str
    title: str
    columns: Tuple[str, ...]
    rows: Tuple[Dict[str, Any], ...]
    bold: FrozenSet[Tuple[int, str]]
    footnotes: Tuple[str, ...]
    decimals: int
    rule_before: FrozenSet[int]
    low_coverage: FrozenSet[Tuple[int, str]] = frozenset()     # cells marked LOW_COVERAGE
    extra_judgments: FrozenSet[Tuple[int, str]] = frozenset()  # cells marked EXTRA_JUDGMENTS

    def marks(self) -> Dict[Tuple[int, str], str]:
        """Each marked cell's footnote marks, in a fixed order."""
        marks: Dict[Tuple[int, str], str] = {}
        for cells, mark in ((self.low_coverage, LOW_COVERAGE),
                            (self.extra_judgments, EXTRA_JUDGMENTS)):
            for cell in cells:
                marks[cell] = marks.get(cell, "") + mark
        return marks


@dataclass(frozen=True)
class _Column:
    label: str          # header: "TV21", "1k R@1"
    key: str            # published key: "tv21", "msrvtt-1k R@1"


def _columns(table: str, years: Sequence[str] = S1_YEARS) -> List[_Column]:
    if table == "s1":
        return [_Column(y.upper(), y) for y in years]
    return [_Column(f"{s.split('-')[1]} {k}", f"{s} {k}") for s in RECALL_SETTINGS for k in RECALL_KS]


class _Footnotes:
    """Footnotes in order of first use; one note lists every cell or row it explains."""

    def __init__(self) -> None:
        self._cells: Dict[Tuple[str, str], List[str]] = {}

    def add(self, text: str, cell: str, prefix: str = MISSING) -> None:
        cells = self._cells.setdefault((prefix, text), [])
        if cell not in cells:
            cells.append(cell)

    def lines(self) -> Tuple[str, ...]:
        return tuple(f"{prefix} {', '.join(cells)}: {text}".lstrip()
                     for (prefix, text), cells in self._cells.items())


def check_benchmark_shape(setting: str, entry: RecallEntry, evaluator: CellEvaluator) -> None:
    """Refuse to set a result beside the paper's unless it was computed on the benchmark's shape."""
    (captions, videos), per_video = BENCHMARK_SHAPES[setting]
    shape, have_per_video = evaluator.recall_shape(entry)
    source = entry.result if entry.result is not None else entry.sims
    want = f"MSR-VTT {setting.split('-')[1]} is {captions:,} x {videos:,} with {per_video} caption(s) a video"
    if shape is None:
        raise InputError(f"cannot compare with the paper: the R@K result has no meta.shape ({want}); "
                         "write it with fpig-trecvid recall --format json", source)
    if shape != [captions, videos] or have_per_video != per_video:
        got = f"{shape[0]:,} x {shape[1]:,}"
        got += f" with {have_per_video} caption(s) a video" if have_per_video else " with varying captions a video"
        raise InputError(f"cannot compare with the paper: the matrix is {got}, but {want}", source)


@contextmanager
def _naming_the_entry(manifest: Manifest, where: str) -> Iterator[None]:
    """An option refused without naming a file (``captions_per_video = 0``) names the manifest
    and the entry it came from."""
    try:
        yield
    except InputError as exc:
        if exc.path is not None:
            raise
        raise InputError(f"{where}: {exc.reason}", manifest.path) from None


def _model_values(table: str, model: ModelEntry, manifest: Manifest, evaluator: CellEvaluator,
                  notes: _Footnotes, years: Sequence[str], low: Set[str], extra: Dict[str, str],
                  check_shape: bool = False) -> Dict[str, Optional[float]]:
    """Published-key -> value for one reproduced row; gaps get a footnote, and so do years whose
    run the pool barely covers (their keys added to `low`) and years scored with extra
    judgments (added to `extra`, with the line that says so)."""
    base = manifest.path.resolve().parent
    values: Dict[str, Optional[float]] = {}
    if table == "s1":
        for year in years:
            entry = model.trecvid.get(year)
            needs = run_needs(entry, year, base)
            for need in needs:
                notes.add(need, f"{model.name} {year.upper()}")
            values[year] = None
            if needs or entry is None:
                continue
            scored = evaluator.year_score(entry)
            values[year] = scored.infAP
            if scored.low_coverage:
                low.add(year)
                notes.add(LOW_COVERAGE_NOTE, f"{model.name} {year.upper()} (pooled@100 "
                          f"{scored.pooled_mean:.2f}, infAP_condensed {scored.infAP_condensed:.4f})",
                          prefix=LOW_COVERAGE)
            if scored.extra is not None:
                extra[year] = extra_judgments_line(scored.extra)
                notes.add(extra[year], f"{model.name} {year.upper()}", prefix=EXTRA_JUDGMENTS)
        return values
    direction = "t2v" if table == "s2-t2v" else "v2t"
    for setting in RECALL_SETTINGS:
        entry = model.recall.get(setting)
        needs = recall_needs(entry, setting, base)
        label = f"{model.name} {setting.split('-')[1]}"
        for need in needs:
            notes.add(need, label)
        with _naming_the_entry(manifest, f"model {model.name!r} recall.{setting}"):
            if check_shape and entry is not None and not needs:
                check_benchmark_shape(setting, entry, evaluator)
            result = {} if needs or entry is None else evaluator.recall(entry).get(direction)
        if result is None:
            notes.add(f"the R@K result has no {direction} numbers", label)
            result = {}
        for k in RECALL_KS:
            values[f"{setting} {k}"] = result.get(k)
    return values


def _mean_over_years(values: Dict[str, Optional[float]],
                     years: Sequence[str]) -> Tuple[Optional[float], bool]:
    """Mean of the years present, and whether every year shown was."""
    present = [values[y] for y in years if values.get(y) is not None]
    if not present:
        return None, False
    total = 0.0
    for v in present:
        total += v
    return total / len(present), len(present) == len(years)


def _published_mean(published: Optional[Published], table: str, row: Optional[str],
                    layout: "_Layout") -> Optional[float]:
    """The paper's Mean, or with a subset of years the mean of its values for those years."""
    if published is None:
        return None
    if not layout.subset:
        return published.value(table, row, "mean")
    values = {c.key: published.value(table, row, c.key) for c in layout.value_columns}
    mean, complete = _mean_over_years(values, [c.key for c in layout.value_columns])
    return mean if complete else None


def _check_published_rows(manifest: Manifest, published: Published) -> None:
    for table, names in manifest.baselines.items():
        rows = published.tables[table].rows if table in published.tables else {}
        for name in names:
            if name not in rows:
                raise InputError(f"baseline {name!r} is not a row of {table.upper()} in "
                                 f"{published.path} (rows: {', '.join(rows)})", manifest.path)
    for model in manifest.models:
        named = dict(model.paper)
        if not named:
            continue
        found = [t for t, row in named.items() if t in published.tables and row in published.tables[t].rows]
        if not found:
            raise InputError(f"model {model.name!r}: paper = {sorted(set(named.values()))[0]!r} names no "
                             f"row of the published tables in {published.path}", manifest.path)


def _best_cells(rows: Sequence[Dict[str, Any]], columns: Sequence[str], decimals: int,
                excluded: FrozenSet[Tuple[int, str]]) -> FrozenSet[Tuple[int, str]]:
    """The highest value of each column (ties at the printed precision are all bold)."""
    bold = set()
    for c in columns:
        shown = {i: round(r[c], decimals) for i, r in enumerate(rows)
                 if r.get(c) is not None and (i, c) not in excluded}
        if shown:
            best = max(shown.values())
            bold.update((i, c) for i, v in shown.items() if v == best)
    return frozenset(bold)


@dataclass(frozen=True)
class _Layout:
    """What one table shows: its value columns, and whether paper/difference columns follow."""
    table: str
    value_columns: Tuple[_Column, ...]
    compare: bool
    subset: bool = False          # Table S1 with fewer years than the paper's five

    @property
    def paper_table(self) -> str:
        return "s1" if self.table == "s1" else "s2"

    @property
    def keyed(self) -> List[Tuple[str, str]]:
        """(header, published key) of every value column, Mean included."""
        extra = [("Mean", "mean")] if self.table == "s1" else []
        return [(c.label, c.key) for c in self.value_columns] + extra

    @property
    def columns(self) -> List[str]:
        out = ["Model"]
        for label, _ in self.keyed:
            out += [label, label + PAPER, label + DELTA] if self.compare else [label]
        return out


def _baseline_row(name: str, layout: _Layout, published: Published) -> Dict[str, Any]:
    row: Dict[str, Any] = {"Model": name}
    for label, key in layout.keyed:
        row[label] = (_published_mean(published, layout.paper_table, name, layout) if key == "mean"
                      else published.value(layout.paper_table, name, key))
        if layout.compare:       # a published row is its own paper value: left blank
            row[label + PAPER] = row[label + DELTA] = ""
    return row


def _model_row(model: ModelEntry, layout: _Layout, manifest: Manifest, evaluator: CellEvaluator,
               published: Optional[Published], notes: _Footnotes,
               low: Set[str], extra: Dict[str, str]) -> Tuple[Dict[str, Any], bool]:
    """A reproduced row, and whether its Mean is partial (fewer years than the table has); the
    years whose run the pool barely covers are added to `low`, those scored with extra
    judgments to `extra` (and the Mean, which they enter)."""
    years = [c.key for c in layout.value_columns]
    paper_row = model.paper_row(layout.paper_table)
    published_rows = published.tables.get(layout.paper_table) if published else None
    comparable_row = published_rows is not None and paper_row in published_rows.rows
    values = _model_values(layout.table, model, manifest, evaluator, notes, years, low, extra,
                           check_shape=layout.compare and comparable_row)
    partial = False
    if layout.table == "s1":
        values["mean"], complete = _mean_over_years(values, years)
        partial = values["mean"] is not None and not complete
        if partial:
            have = [y.upper() for y in years if values.get(y) is not None]
            notes.add(f"over {', '.join(have)} only", model.name, prefix="Mean of")
        if extra and values["mean"] is not None:
            for line in dict.fromkeys(extra.values()):
                notes.add(line, f"{model.name} Mean", prefix=EXTRA_JUDGMENTS)
            extra["mean"] = ""
    row: Dict[str, Any] = {"Model": model.name}
    if layout.compare and not comparable_row:
        if paper_row is None:
            why = "no published row to compare with: set paper = \"NAME\" in its [[model]]"
        else:
            why = (f"{paper_row!r} is not a row of the published {layout.paper_table.upper()}; "
                   f"name one per table with paper = {{ s1 = \"...\", s2 = \"...\" }}")
        notes.add(why, model.name, prefix="")
        paper_row = None
    for label, key in layout.keyed:
        row[label] = values[key]
        if layout.compare:
            if key == "mean":
                paper = _published_mean(published, layout.paper_table, paper_row, layout)
            else:
                paper = published.value(layout.paper_table, paper_row, key) if published else None
            comparable = paper is not None and values[key] is not None and not (partial and key == "mean")
            row[label + PAPER] = paper
            row[label + DELTA] = values[key] - paper if comparable else None
    return row, partial


def build_table(table: str, manifest: Manifest, evaluator: CellEvaluator,
                published: Optional[Published] = None, against_paper: bool = False,
                decimals: Optional[int] = None, years: Sequence[str] = ()) -> PaperTable:
    """One table: published baseline rows first, then one row per manifest model.

    `years` (default the manifest's ``years``, else all five) are Table S1's columns; Mean is
    over them, and a footnote says so when they are fewer than the paper's five.
    """
    if table not in TABLES:
        raise InputError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    digits = DEFAULT_DECIMALS[table] if decimals is None else decimals
    shown = checked_years(years, where="--years") or manifest.years or S1_YEARS
    subset = table == "s1" and len(shown) < len(S1_YEARS)
    layout = _Layout(table, tuple(_columns(table, shown)), against_paper and table != "s2-t2v",
                     subset)
    notes = _Footnotes()
    if subset:
        notes.add(f"over {', '.join(y.upper() for y in shown)} only, a subset of the paper's five "
                  f"years ({', '.join(y.upper() for y in S1_YEARS)}); its published Mean is "
                  + ("replaced by the mean of its values for these years"
                     if layout.compare or manifest.baselines.get("s1") else "not comparable"),
                  "Mean", prefix="")
    baselines = () if table == "s2-t2v" else manifest.baselines.get(layout.paper_table, ())
    rows: List[Dict[str, Any]] = []
    for name in baselines:
        assert published is not None          # build_tables loads it whenever there are baselines
        notes.add(f"published numbers, not recomputed ({published.tables[layout.paper_table].source})",
                  name, prefix="")
        rows.append(_baseline_row(name, layout, published))
    partial_means, low_coverage, extra_judgments = set(), set(), set()
    for model in manifest.models:
        low: Set[str] = set()
        extra: Dict[str, str] = {}
        row, partial = _model_row(model, layout, manifest, evaluator, published, notes, low, extra)
        if partial:
            partial_means.add((len(rows), "Mean"))      # not comparable with five-year means
        low_coverage.update((len(rows), label) for label, key in layout.keyed if key in low)
        extra_judgments.update((len(rows), label) for label, key in layout.keyed if key in extra)
        rows.append(row)
    # neither partial means nor numbers made with private judgments compare with the others
    bold = _best_cells(rows, [label for label, _ in layout.keyed], digits,
                       frozenset(partial_means | extra_judgments))
    rule = frozenset({len(baselines)}) if baselines and manifest.models else frozenset()
    return PaperTable(table, TITLES[table], tuple(layout.columns), tuple(rows), bold, notes.lines(),
                      digits, rule, frozenset(low_coverage), frozenset(extra_judgments))


def tables_to_print(manifest: Manifest) -> Tuple[str, ...]:
    """The tables a manifest has anything for, in the paper's order."""
    wanted = []
    if any(m.trecvid for m in manifest.models) or manifest.baselines.get("s1"):
        wanted.append("s1")
    if any(m.recall for m in manifest.models) or manifest.baselines.get("s2"):
        wanted.append("s2")
    if any(m.recall for m in manifest.models):
        wanted.append("s2-t2v")
    if not wanted:
        raise InputError("the manifest names no runs, R@K results or baselines", manifest.path)
    return tuple(wanted)


def build_tables(manifest: Manifest, tables: Sequence[str] = (), against_paper: bool = False,
                 decimals: Optional[int] = None, cache: Optional[ResultCache] = None,
                 years: Sequence[str] = ()) -> List[PaperTable]:
    """The requested tables (default: every table the manifest has data for)."""
    published = None
    if against_paper or any(manifest.baselines.values()):
        published = load_published(manifest.published)
        _check_published_rows(manifest, published)
    evaluator = CellEvaluator(cache if cache is not None else ResultCache(None))
    return [build_table(t, manifest, evaluator, published, against_paper, decimals, years)
            for t in (tables or tables_to_print(manifest))]


def render_tables(tables: Sequence[PaperTable], fmt: str,
                  meta: Optional[Dict[str, Any]] = None) -> Tuple[str, Tuple[str, ...]]:
    """(text for stdout, notes for stderr): CSV keeps footnotes out of the data, on stderr."""
    if fmt == "json":
        payload = {"tables": [{"key": t.key, "title": t.title, "columns": list(t.columns),
                               "rows": [{c: None if r.get(c) == "" else r.get(c) for c in t.columns}
                                        for r in t.rows],
                               "best": sorted([i, c] for i, c in t.bold),
                               **({"low_coverage": sorted([i, c] for i, c in t.low_coverage)}
                                  if t.low_coverage else {}),
                               **({"extra_judgments": sorted([i, c] for i, c in t.extra_judgments)}
                                  if t.extra_judgments else {}),
                               "footnotes": list(t.footnotes)} for t in tables]}
        if meta is not None:
            payload["meta"] = meta
        return json.dumps(payload, indent=2) + "\n", ()
    blocks, stderr_notes = [], []
    for t in tables:
        body = render(t.rows, t.columns, fmt, t.decimals, bold=t.bold, missing=MISSING,
                      rule_before=t.rule_before, signed={c for c in t.columns if c.endswith(DELTA)},
                      marks=t.marks())
        if fmt == "csv":
            blocks.append(body)
            stderr_notes += [f"{t.key}: {n}" for n in t.footnotes]
        elif fmt == "latex":
            notes = "".join(f"% {n}\n" for n in t.footnotes)
            blocks.append(f"% {t.title}\n{body}{notes}")
        elif fmt == "markdown":
            notes = "".join(f"- {n}\n" for n in t.footnotes)
            blocks.append(f"**{t.title}**\n\n{body}" + (f"\n{notes}" if notes else ""))
        else:
            blocks.append(f"{t.title}\n{body}" + "".join(f"  {n}\n" for n in t.footnotes))
    return "\n".join(blocks), tuple(stderr_notes)
