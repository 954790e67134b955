"""``fpig-trecvid browse``: a static site of what runs retrieved, with keyframes and judgments."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from .options import QRELS_HELP, QRELS_METAVAR, shot_source_options


@click.command("browse")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--qrels", "qrels_spec", required=True, metavar=QRELS_METAVAR,
              help=QRELS_HELP)
@click.option("--topics", default=None, metavar="tv21|FILE",
              help="Topic texts (default: the shipped set of shipped qrels).")
@shot_source_options
@click.option("--labels", default=None, metavar="A,B,…",
              help="Names of the runs, in order, separated by commas (default: their tags).")
@click.option("--depth", default=100, show_default=True, type=click.IntRange(1, 1000),
              help="Shots shown per run and topic.")
@click.option("--thumb-size", default=160, show_default=True, type=click.IntRange(32, 1024),
              help="Longest side of a thumbnail, in pixels.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Thumbnail processes (default: the cores this process may use; 0 makes "
                   "them in this process).")
@click.option("--extra-qrels", "extra", multiple=True, type=click.Path(), metavar="FILE",
              help="Your earlier judgments of unpooled shots (topic shot 0|1 a line, as "
                   "'Download judgments' saves them; repeatable): shown as judged by you, "
                   "counted and downloaded with the page's new ones.")
@click.option("--out", required=True, type=click.Path(), metavar="DIR",
              help="The site: DIR/index.html opens from disk, no server needed.")
def command(runs: Tuple[str, ...], qrels_spec: str, topics: Optional[str],
            keyframes: Optional[str], videos: Optional[str], boundaries: Optional[str],
            shot_table: Optional[str], labels: Optional[str], depth: int, thumb_size: int,
            workers: Optional[int], extra: Tuple[str, ...], out: str) -> None:
    """Write a site showing RUNS (one to four) side by side: per topic, each run's top shots
    as thumbnails framed by NIST's judgment, the relevant shots it missed, and the topics where
    the runs differ most; the shots NIST never pooled can be judged in the page and the
    judgments downloaded for 'score --extra-qrels'. Shots shown are decoded once; DIR/thumbs/
    is reused by later runs."""
    from ..api import browse

    result = browse(runs, qrels_spec, out, topics=topics, keyframes=keyframes, videos=videos,
                    boundaries=boundaries, shot_table=shot_table,
                    labels=None if labels is None else labels.split(","), depth=depth,
                    thumb_size=thumb_size, workers=workers, extra_qrels=extra)
    without = f"; {result.without_picture} shot(s) without a picture (placeholders)" \
        if result.without_picture else ""
    click.echo(f"wrote {result.index}: {result.topics} topics x {result.runs} run(s), "
               f"{result.thumbs} thumbnails ({result.made} made, "
               f"{result.thumbs - result.made} from the cache){without}")
