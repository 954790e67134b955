"""``fpig-trecvid run``: topic features against shot features -> TREC run files (+ XML, sidecar)."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..errors import InputError
from ..formats.id_lists import EXCLUDE_LISTS
from ..formats.topics import REGISTRY
from ..run.request import RunRequest
from ..run.single import make_run
from .options import tower_config_option, xml_field_values


@click.command("run")
@click.option("--checkpoint", type=click.Path(), default=None, metavar="CKPT",
              help="F-Pig/PIG, CLIP4Clip/TeachCLIP or open_clip checkpoint: topics are encoded.")
@click.option("--query-features", type=click.Path(), default=None, metavar="q.npy",
              help="Topic features from `fpig-trecvid encode` (a bare .npy follows the topic "
                   "set's order).")
@tower_config_option("With --checkpoint: ")
@click.option("--features", default=None, type=click.Path(), metavar="STORE",
              help="Shot features: a store from `features convert`, a BigFile directory, "
                   ".npy (+ ids), Parquet or Arrow.")
@click.option("--model", "models", multiple=True, metavar="CKPT_OR_QF:STORE[:WEIGHT]",
              help="Instead of the three options above, once per model to fuse: a checkpoint "
                   "or topic features (.npy), the model's shot features, a weight (default "
                   "1). Shots are ranked by the weighted sum of the models' cosines; every "
                   "store must list the same shots in the same order.")
@click.option("--topics", "topics", multiple=True, required=True, metavar="tv19|PATH",
              help="A shipped topic set or a topic file; repeat for several (one pass).")
@click.option("--run-id", required=True, metavar="NAME", help="Run tag and output directory name.")
@click.option("--out-dir", default="runs", show_default=True, type=click.Path(file_okay=False))
@click.option("--max-words", default=50, show_default=True, type=click.IntRange(min=2),
              help="Tokens kept per topic (F-Pig 50, CLIP4Clip/TeachCLIP 32).")
@click.option("--top", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Shots per topic (NIST reads at most 1000; with --xml, the XML, a "
                   "submission, keeps the first 1000 and says so).")
@click.option("--exclude", multiple=True, metavar=f"{'|'.join(EXCLUDE_LISTS)}|FILE",
              help="Leave these shots out: NIST's dropped V3C1 shots, or a file of shot ids.")
@click.option("--xml", is_flag=True, help="Also write NIST's AVS submission XML.")
@click.option("--xml-field", "xml_fields", multiple=True, metavar="KEY=VALUE",
              help="XML run attribute: pid, priority, trType (A|D|E|F), class (F|M|R), "
                   "task (M|P), novelty (C|N), desc.")
@click.option("--frame-pool", type=click.Choice(["max"]), default=None,
              help="Score a shot by its best frame: the max cosine over the frame vectors of a "
                   "store from `features extract --keep-frames`.")
@click.option("--frame-weight", type=float, default=None, metavar="W",
              help="Score = shot cosine + W * max frame cosine (CLIPRerank); 0 < W <= 1e6.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="auto: the GPU when there is one, else numpy on the CPU.")
@click.option("--quiet", is_flag=True, help="No progress bars, summary or notices.")
def command(checkpoint: Optional[str], query_features: Optional[str],
            tower_config: Optional[str], features: Optional[str], models: Tuple[str, ...],
            topics: Tuple[str, ...], run_id: str, out_dir: str, max_words: int, top: int,
            exclude: Tuple[str, ...], xml: bool, xml_fields: Tuple[str, ...],
            frame_pool: Optional[str], frame_weight: Optional[float], device: str,
            quiet: bool) -> None:
    """Rank every shot of FEATURES for each topic and write OUT_DIR/RUN_ID/SET.txt."""
    if xml_fields and not xml:
        raise InputError("--xml-field sets attributes of the submission XML: add --xml")
    request = RunRequest(run_id=run_id, features=features, topics=topics, checkpoint=checkpoint,
                         query_features=query_features, out_dir=out_dir, max_words=max_words,
                         top=top, exclude=exclude, xml=xml, xml_attributes=xml_field_values(xml_fields),
                         frame_pool=frame_pool, frame_weight=frame_weight, device=device,
                         progress=not quiet, models=models, tower_config=tower_config)
    outputs = make_run(request)
    if quiet:
        return
    for note in dict.fromkeys(note for out in outputs for note in out.notes):
        click.echo(f"note: {note}", err=True)
    for out in outputs:
        extra = f" and {out.xml_file.name}" if out.xml_file else ""
        click.echo(f"wrote {out.run_file} ({out.topics} topics){extra}, provenance in "
                   f"{out.sidecar.name}")
        info = REGISTRY.get(out.topic_set)
        if info is not None and info.qrels:
            click.echo(f"  score it: fpig-trecvid score --qrels {info.name} {out.run_file}")
