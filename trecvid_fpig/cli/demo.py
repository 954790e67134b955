"""``fpig-trecvid demo``: checkpoint -> run -> infAP on a synthetic V3C1, offline, in seconds."""
from __future__ import annotations

from typing import Optional

import click

from ..report.formats import FORMATS, render
from ..report.stats import MAX_SEED


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Keep the workspace (checkpoint, store, run, XML, sidecar) here; "
                   "default: a temporary directory, removed afterwards.")
@click.option("--distractors", default=100_000, show_default=True, type=click.IntRange(min=0),
              help="Unjudged shots added to the 113,074 shots of the TV21 pool.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, MAX_SEED),
              help=f"Seed of the checkpoint and the collection, 0 to {MAX_SEED}; the same seed "
                   f"prints the same tables.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--video/--no-video", default=True, show_default=True,
              help="The video side: generate a few short V3C-style videos, extract their "
                   "features with the checkpoint's video tower, run and score them.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(workdir: Optional[str], distractors: int, seed: int, fmt: str, video: bool,
            quiet: bool) -> None:
    """Build a tiny random F-Pig checkpoint and a synthetic V3C1 store holding the TV21 pool,
    run TV21 through `run`, and score it with NIST's TV21 qrels; then the same chain from a few
    generated videos through `features extract`."""
    from ..demo.collection import COVERAGE_NOTE, SYNTHETIC_NOTE, VIDEO_NOTE, run_demo

    result = run_demo(workdir, distractors=distractors, seed=seed, progress=not quiet,
                      video=video)
    per_topic, columns = result.per_topic
    summary, summary_columns = result.summary
    click.echo(f"fpig-trecvid demo: tv21 on {result.shots} synthetic V3C1 shots "
               f"(the TV21 pool plus {distractors} distractors), random checkpoint")
    click.echo(render(per_topic, columns, fmt), nl=False)
    click.echo(render(summary, summary_columns, fmt), nl=False)
    click.echo(f"pool coverage ({COVERAGE_NOTE}): {result.coverage.summary()}")
    click.echo(SYNTHETIC_NOTE)
    if result.video is not None:
        summary, summary_columns = result.video.summary
        click.echo(f"video side: features extract -> run -> score on {result.video.shots} shots "
                   f"of generated V3C-style videos")
        click.echo(render(summary, summary_columns, fmt), nl=False)
        click.echo(VIDEO_NOTE)
    if workdir is not None:
        click.echo(f"workspace kept in {result.workdir}; run file {result.run_file}")
    if result.site is not None:
        click.echo(f"browse site: {result.site} (open it in a browser)")
    elif result.video is not None:      # the workspace, and so any site, is gone
        click.echo("browse site: rerun with --workdir DIR to keep one (DIR/browse/index.html): "
                   "both runs side by side, with their frames and judgments")
