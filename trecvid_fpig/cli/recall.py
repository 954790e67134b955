"""``fpig-trecvid recall``: text↔video R@K, MdR and MnR with CLIP4Clip's conventions, fast."""
from __future__ import annotations

import json
from typing import Optional, Tuple

import click

from ..errors import InputError
from ..evaluate.recall import check_recall_inputs, recall_from_files, recall_rows
from ..report.formats import FORMATS, render
from .output import check_out, emit


def _parse_ks(ctx: click.Context, param: click.Parameter, value: str) -> Tuple[int, ...]:
    try:
        ks = tuple(int(k) for k in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if any(k < 1 for k in ks):
        raise click.BadParameter(f"cut-offs must be at least 1, got {value!r}")
    return ks


@click.command("recall")
@click.option("--sims", type=click.Path(), metavar="FILE",
              help="Captions x videos similarity matrix (.npy or Parquet).")
@click.option("--text-features", type=click.Path(), metavar="T",
              help="Caption features (.npy, BigFile folder or feature store).")
@click.option("--video-features", type=click.Path(), metavar="V",
              help="Video features (.npy, BigFile folder or feature store).")
@click.option("--gt", type=click.Path(), metavar="FILE",
              help="caption_id<TAB>video_id lines; rows follow its lines, columns its videos "
                   "in order of first appearance.")
@click.option("--captions-per-video", type=click.IntRange(min=1), metavar="N",
              help="Contiguous blocks of N caption rows per video (1: MSR-VTT 1k-A, 20: 3k).")
@click.option("--dsl", is_flag=True,
              help="Dual-softmax inference: sims x softmax(T*sims over captions), both directions.")
@click.option("--dsl-temperature", type=click.FloatRange(min=0, min_open=True), default=100.0,
              show_default=True,
              help="T of --dsl; it multiplies what the matrix holds: 100 for cosines, 1 for "
                   "logits (100 x cosine, e.g. TS2-Net's).")
@click.option("--ks", default="1,5,10", show_default=True, callback=_parse_ks,
              metavar="K,K,...", help="Recall cut-offs, comma-separated.")
@click.option("--nan-as-lowest", is_flag=True,
              help="Rank NaN similarities below every number instead of failing.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="json is the contract {t2v, v2t, meta} other commands read.")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write here (atomically) instead of standard output.")
def command(sims: Optional[str], text_features: Optional[str], video_features: Optional[str],
            gt: Optional[str], captions_per_video: Optional[int], dsl: bool,
            dsl_temperature: float, ks: Tuple[int, ...], nan_as_lowest: bool, fmt: str,
            out: Optional[str]) -> None:
    """Text-to-video and video-to-text recall from a similarity matrix or from features.

    Rank = 1 + the number of candidates scoring strictly higher; video-to-text scores each
    caption group by its best caption (CLIP4Clip); R@K in percent.
    """
    try:
        check_recall_inputs(sims, text_features, video_features, gt, captions_per_video,
                            as_options=True)
    except InputError as exc:
        raise click.UsageError(exc.reason) from None
    check_out(out, [("similarity matrix", sims), ("text features", text_features),
                    ("video features", video_features), ("ground truth", gt)])
    result = recall_from_files(sims=sims, text_features=text_features,
                               video_features=video_features, gt=gt,
                               captions_per_video=captions_per_video, dsl=dsl,
                               dsl_temperature=dsl_temperature, ks=ks,
                               nan_as_lowest=nan_as_lowest)
    if fmt == "json":
        text = json.dumps(result, indent=2) + "\n"
    else:
        rows, columns = recall_rows(result)
        text = render(rows, columns, fmt, decimals=2)
    emit(text, out)
