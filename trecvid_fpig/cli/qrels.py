"""``fpig-trecvid qrels``: NIST's judgments for the TRECVID years that do not ship, and a team's
own judgments of the shots NIST never pooled (``todo``, ``merge``)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import click

from ..base.outputs import refuse_input_as_output
from ..evaluate.coverage import unpooled_to_judge
from ..formats.qrels import (MAX_RESULT_SIZE, TODO_COLUMNS, load_qrels, sidecar_path,
                             write_merged_qrels)
from ..formats.qrels_registry import REGISTRY, fetch
from ..formats.runs import read_any_run
from ..formats.topics import resolve_qrels
from .options import QRELS_METAVAR
from .output import check_out, emit, tell


@click.group("qrels")
def command() -> None:
    """NIST's judgments (qrels) of the TRECVID years that do not ship with the toolkit, and your
    own judgments of the shots NIST never pooled."""


@command.command("fetch")
@click.argument("sets", nargs=-1, required=True, type=click.Choice(list(REGISTRY)), metavar="SET...")
@click.option("--from", "from_file", type=click.Path(dir_okay=False),
              help="Install this file, downloaded by hand, instead of downloading (one SET).")
@click.option("--force", is_flag=True, help="Download and install again even when installed.")
def fetch_command(sets: Tuple[str, ...], from_file: Optional[str], force: bool) -> None:
    """Download, verify and install each SET's qrels (tv19, tv20, tv22, progress.v3c1).

    Each comes from a public copy pinned at a git commit and must have that copy's git blob id;
    it is installed in the data folder ($FPIG_TRECVID_DATA, else the user's data folder).
    Afterwards --qrels SET works wherever --qrels tv21 does. A copy with another blob id, a
    dropped connection or a wrong file installs nothing.
    """
    if from_file is not None and len(sets) != 1:
        raise click.UsageError("--from installs one file: name exactly one SET")
    for name in sets:
        done = fetch(name, from_file=from_file, force=force)
        for note in done.notes:
            tell(f"warning: {note}")
        if done.action == "installed":
            held = f"{len(done.topics)} topics, {done.topics[0]}-{done.topics[-1]}"
            click.echo(f"{name}: installed {done.path} ({held}) from {done.source}, git blob "
                       f"{done.blob[:12]}")
        elif done.action == "already installed":
            click.echo(f"{name}: already installed at {done.path} (from {done.source}); --force "
                       f"installs it again")
        else:
            click.echo(f"{name}: ships with fpig-trecvid; nothing to fetch")


@command.command("todo")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--qrels", "qrels_spec", required=True, metavar=QRELS_METAVAR,
              help="The qrels whose pool the runs are checked against.")
@click.option("--depth", type=click.IntRange(1, MAX_RESULT_SIZE), default=100, show_default=True,
              help="Look at each run's first DEPTH shots a topic, in NIST's order.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout.")
def todo_command(runs: Tuple[str, ...], qrels_spec: str, depth: int, out: Optional[str]) -> None:
    """List the shots RUNS rank in their top DEPTH that NIST never pooled: topic, shot, best
    rank and the runs that rank it, tab-separated, in the order to judge them (each topic's
    best-ranked first). Judge them into an extra-judgments file (topic shot 0|1 a line) for
    'qrels merge' or 'score --extra-qrels'."""
    check_out(out, [("run", r) for r in runs] + _qrels_inputs(qrels_spec))
    qrels = load_qrels(qrels_spec)
    rows = unpooled_to_judge([read_any_run(r) for r in runs], qrels, depth)
    lines = ["\t".join(TODO_COLUMNS)]
    lines += [f"{u.topic}\t{u.shot}\t{u.best_rank}\t{','.join(u.runs)}" for u in rows]
    emit("\n".join(lines) + "\n", out)
    if out:
        click.echo(f"{len(rows)} unpooled shot(s) to judge in {out}", err=True)


@command.command("merge")
@click.argument("base", metavar="BASE")
@click.argument("extra", nargs=-1, required=True, type=click.Path(), metavar="EXTRA...")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The merged qrels file, written atomically with its sidecar OUT.json; "
                   "neither may be an input.")
def merge_command(base: str, extra: Tuple[str, ...], out: str) -> None:
    """Write BASE (a year's qrels: tv21, tv23, or one 'qrels fetch' installed; or a qrels file)
    with the EXTRA judgments (topic shot 0|1 a line) as one new stratum, fully judged: a
    sample_eval qrels that score, sample_eval.pl and --qrels read. Beside it, OUT.json records
    BASE, each EXTRA file's sha256 and the stratum, so that 'score --qrels OUT' says it scores
    with extra judgments, as 'score --extra-qrels' does. A judgment of a shot NIST pooled (-1 ones included), or of one shot two ways, is
    refused naming its file and line, and nothing is written."""
    refuse_input_as_output([out, sidecar_path(out)], _qrels_inputs(base)
                           + [("extra judgments", e) for e in extra])
    merged = load_qrels(base, extra=extra)
    write_merged_qrels(merged, out)
    click.echo(f"{out}: {base} with {len(extra)} extra-judgment file(s) as stratum "
               f"{merged.extra_stratum}; {sidecar_path(out)} records them: keep it beside "
               f"{out}, or its scores no longer say they use extra judgments", err=True)


def _qrels_inputs(spec: str) -> List[Tuple[str, Path]]:
    """The files a --qrels SPEC reads, for the output checks: a name (tv21) is resolved, and
    the sidecar that says where the file came from is an input too (overwritten, a merged
    file would read as plain qrels)."""
    path = resolve_qrels(spec)
    return [("qrels", path), ("qrels sidecar", sidecar_path(path))]
