"""``fpig-trecvid encode``: a trained checkpoint's text tower -> topic features (q.npy + q.json)."""
from __future__ import annotations

import warnings
from typing import Optional

import click

from ..base.locks import output_lock
from ..base.outputs import refuse_input_as_output
from ..errors import InputWarning
from ..formats.topics import load_topics
from .options import tower_config_option

_ACTIVATIONS = {"auto": None, "quick-gelu": True, "gelu": False}


def _npy_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a wrong output name before spending seconds on loading the model."""
    if not value.endswith(".npy"):
        raise click.BadParameter("name the features file *.npy (its sidecar is *.json)")
    return value


@click.command("encode")
@click.option("--checkpoint", required=True, type=click.Path(), metavar="CKPT",
              help="F-Pig/PIG (Hugging Face CLIP), CLIP4Clip/TeachCLIP or open_clip checkpoint.")
@click.option("--topics", "topics_spec", required=True, metavar="tv19|PATH",
              help="A shipped topic set or a topic file (NNN text per line).")
@click.option("--max-words", default=50, show_default=True, type=click.IntRange(min=2),
              help="Tokens kept per topic, start and end tokens included (F-Pig 50, "
                   "CLIP4Clip/TeachCLIP 32).")
@click.option("--batch-size", type=click.IntRange(min=1), hidden=True,
              help="Ignored: texts are encoded in fixed chunks, so features do not depend on it.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Default: cuda when available, else cpu.")
@click.option("--activation", type=click.Choice(sorted(_ACTIVATIONS)), default="auto",
              show_default=True,
              help="auto: as --tower-config says, else QuickGELU for hf-clip and clip4clip "
                   "(OpenAI-derived), GELU for open_clip checkpoints.")
@tower_config_option()
@click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="q.npy",
              callback=_npy_path,
              help="Features file; the sidecar q.json is written beside it.")
@click.option("--quiet", is_flag=True, help="No progress bar, summary line or notices.")
def command(checkpoint: str, topics_spec: str, max_words: int, batch_size: Optional[int],
            device: Optional[str], activation: str, tower_config: Optional[str], out: str,
            quiet: bool) -> None:
    """Encode the topics' texts with CKPT's text tower into L2-normalised features."""
    from ..encode.checkpoints import text_heads_record
    from ..encode.text_encoder import load_text_encoder
    from ..formats.query_features import checkpoint_sha256, save_query_features, sidecar_path

    if batch_size is not None:
        warnings.warn("--batch-size is ignored: topics are encoded in chunks of a fixed size, "
                      "so that a topic's features do not depend on the others", InputWarning)
    topics = load_topics(topics_spec)
    refuse_input_as_output([out, sidecar_path(out)],
                           [("checkpoint", checkpoint), ("topic file", topics.source),
                            ("tower config", tower_config)])
    with output_lock(out):
        encoder = load_text_encoder(checkpoint, device=device,
                                    quick_gelu=_ACTIVATIONS[activation],
                                    tower_config=tower_config)
        heads = text_heads_record(encoder.spec, checkpoint)
        if "heads_note" in heads and not quiet:
            click.echo(f"note: {heads['heads_note']}", err=True)
        features = encoder.encode(topics.texts, max_words=max_words, progress=not quiet)
        meta = {
            "topic_set": topics.name,
            "max_words": max_words,
            "checkpoint": checkpoint,
            "checkpoint_sha256": checkpoint_sha256(checkpoint),
            "checkpoint_layout": encoder.layout,
            "activation": "quick_gelu" if encoder.spec.quick_gelu else "gelu",
            **heads,
        }
        path = save_query_features(out, features, topics, meta)
    if not quiet:
        click.echo(f"wrote {path} ({features.shape[0]} topics x {features.shape[1]}, float32, "
                   f"{encoder.layout} checkpoint) and its sidecar {path.with_suffix('.json')}")
