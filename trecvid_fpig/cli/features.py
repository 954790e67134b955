"""``fpig-trecvid features``: convert shot features to the toolkit's store, and inspect one."""
from __future__ import annotations

import json
from typing import Optional

import click

from ..errors import one_line
from ..formats.store import (POOLS, STORE_DTYPES, convert_features, manifest_lines, read_features,
                             verify_store)
from .options import shot_source_options, tower_config_option
from .output import tell


@click.group("features")
def command() -> None:
    """Precomputed shot features: BigFile, .npy + ids, Parquet/Arrow -> memory-mapped store."""


@command.command("convert")
@click.argument("src", type=click.Path())
@click.argument("dst", type=click.Path())
@click.option("--ids", type=click.Path(), default=None,
              help="Shot ids of a .npy source (default: X.ids.txt or X.txt beside X.npy).")
@click.option("--pool", type=click.Choice(POOLS), default=None,
              help="Rows are frames named SHOT_FRAME (shot00001_1_7): each shot gets the mean "
                   "of its L2-normalised frame vectors.")
@click.option("--dtype", type=click.Choice(STORE_DTYPES), default="float32", show_default=True,
              help="float16 halves the store; scores are still computed in float32.")
@click.option("--overwrite", is_flag=True, help="Replace an existing store at DST.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line.")
def convert(src: str, dst: str, ids: Optional[str], pool: Optional[str], dtype: str,
            overwrite: bool, quiet: bool) -> None:
    """Check every row of SRC (no NaN/inf, no zero vector, unique ids) and write the store DST."""
    manifest = convert_features(src, dst, ids=ids, pool=pool, dtype=dtype, overwrite=overwrite,
                                progress=not quiet)
    if not quiet:
        pooled = f", pooled from {manifest['pool']['frames']} frames" if manifest["pool"] else ""
        click.echo(f"wrote {dst}: {manifest['count']} shots x {manifest['dim']} {dtype}{pooled}")


@command.command("inspect")
@click.argument("store", type=click.Path())
@click.option("--ids", type=click.Path(), default=None, help="Shot ids of a .npy matrix.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@click.option("--verify", is_flag=True,
              help="Re-hash a store's features.npy and ids.npy (and frames.npy and "
                   "frame_offsets.npy, if kept) against its manifest (reads every byte); a "
                   "mismatch is an error, exit 2.")
def inspect(store: str, ids: Optional[str], as_json: bool, verify: bool) -> None:
    """Print what STORE (or any readable feature source) holds, without reading its values."""
    features = read_features(store, ids, part_ok=True)
    if verify:
        verify_store(features)
    if as_json:
        click.echo(json.dumps(features.manifest, indent=2))
        return
    lines = manifest_lines(features)
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{label:<{width}}  {value}")


@command.command("extract")
@click.argument("out", type=click.Path())
@click.option("--checkpoint", required=True, type=click.Path(),
              help="Model checkpoint whose video tower encodes the frames (CLIP4Clip, "
                   "open_clip, HF CLIP vision; or any with --video-encoder).")
@shot_source_options
@click.option("--frames", default=12, show_default=True, type=click.IntRange(min=1),
              help="Frames per shot, at most.")
@click.option("--sampling", type=click.Choice(("clip4clip", "uniform", "keyframes")),
              default=None, help="Frame rule (docs/extract.md); default: keyframes for "
                                 "--keyframes, clip4clip for videos.")
@click.option("--shots", type=click.Path(), default=None,
              help="File of shot ids: extract only these, in this order.")
@click.option("--exclude", multiple=True, metavar="v3c1-dropped|FILE",
              help="Leave these shots out (repeatable), as in `run`.")
@click.option("--video-encoder", default=None, metavar="MODULE:FACTORY",
              help="A plugin tower instead of the detected one (or an entry point of "
                   "fpig_trecvid.video_encoders).")
@tower_config_option()
@click.option("--keep-frames", is_flag=True,
              help="Also store each shot's frame vectors (frames.npy + frame_offsets.npy).")
@click.option("--dtype", type=click.Choice(STORE_DTYPES), default="float32", show_default=True)
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda")), default="auto",
              show_default=True, help="auto: the GPU when there is one (fp16 autocast).")
@click.option("--preprocess", type=click.Choice(("auto", "cpu", "device")), default="auto",
              show_default=True,
              help="Where open_clip's resize and crop run: cpu (PIL in the decode workers), "
                   "device (exact integer ops beside the tower, the same bytes; open_clip's "
                   "transform only), auto (device on a GPU with open_clip's transform, else "
                   "cpu).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Decode processes (default: the cores this process may use; 0 decodes in "
                   "the main process).")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1),
              help="Shots per tower call.")
@click.option("--shard-size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Shots per shard (the unit of resume).")
@click.option("--engine", type=click.Choice(("local", "ray")), default="local",
              show_default=True,
              help="ray: shards go to encode actors on a Ray cluster (pip install "
                   "'fpig-trecvid[ray]'; docs/cluster.md); the output is the same.")
@click.option("--ray-address", default=None, metavar="auto|ray://HOST:PORT",
              help="With --engine ray: join this cluster (default: start a local Ray with "
                   "--workers CPUs and stop it afterwards).")
@click.option("--actors", default=1, show_default=True, type=click.IntRange(min=1),
              help="With --engine ray: encode actors, each loading the tower once.")
@click.option("--num-gpus-per-actor", default=0.0, show_default=True,
              type=click.FloatRange(min=0),
              help="With --engine ray: GPUs each actor reserves (0: the tower runs on CPU).")
@click.option("--shard", "part", default=None, metavar="I/N",
              help="Only part I of N of the shot list (I from 1, e.g. $SLURM_ARRAY_TASK_ID), "
                   "as a partial store for `features merge`.")
@click.option("--overwrite", is_flag=True,
              help="Replace a store at OUT, and restart an unfinished extraction.")
@click.option("--allow-missing", is_flag=True,
              help="Write the store without the shots that failed (listed in OUT.failed.tsv "
                   "and in the manifest).")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line.")
def extract(out: str, checkpoint: str, keyframes: Optional[str], videos: Optional[str],
            boundaries: Optional[str], shot_table: Optional[str], frames: int,
            sampling: Optional[str], shots: Optional[str], exclude: tuple,
            video_encoder: Optional[str], tower_config: Optional[str], keep_frames: bool,
            dtype: str, device: str, preprocess: str,
            workers: Optional[int], batch_size: int, shard_size: int, engine: str,
            ray_address: Optional[str], actors: int, num_gpus_per_actor: float,
            part: Optional[str], overwrite: bool, allow_missing: bool, quiet: bool) -> None:
    """Encode a collection's shots with CHECKPOINT's video tower into the store OUT.

    Work goes in shards of --shard-size shots under OUT.shards/; rerunning the same command
    resumes. Shots that fail (missing or undecodable video or image) go to OUT.failed.tsv and
    the store is not written (exit 1) unless --allow-missing.
    """
    from ..extract.job import ExtractRequest, extract_features
    from ..extract.parts import parse_part

    result = extract_features(ExtractRequest(
        checkpoint=checkpoint, out=out, keyframes=keyframes, videos=videos,
        boundaries=boundaries, shot_table=shot_table, frames=frames, sampling=sampling,
        shots=shots, exclude=tuple(exclude), video_encoder=video_encoder,
        tower_config=tower_config,
        keep_frames=keep_frames, dtype=dtype, device=device, preprocess=preprocess,
        workers=workers,
        batch_size=batch_size, shard_shots=shard_size, engine=engine,
        part=parse_part(part) if part else None, actors=actors,
        num_gpus_per_actor=num_gpus_per_actor, ray_address=ray_address, overwrite=overwrite,
        allow_missing=allow_missing, progress=not quiet))
    if result.failures:
        shown = result.failures[:20]
        for failure in shown:
            click.echo(one_line(f"failed: {failure.shot_id}  {failure.source}  {failure.reason}"),
                       err=True)
        if len(result.failures) > len(shown):
            click.echo(f"... and {len(result.failures) - len(shown)} more", err=True)
    if result.manifest is None:
        tell(f"{len(result.failures)} shot(s) failed, listed in "
             f"{result.failed_file}; the store was not written. Fix them and rerun the "
             f"same command (done shards are kept), or pass --allow-missing.")
        raise SystemExit(1)
    if not quiet:
        m, record = result.manifest, result.manifest["extract"]
        timing = record["timings"]
        left_out = f", {len(result.failures)} failed shots left out" if result.failures else ""
        click.echo(f"wrote {out}: {m['count']} shots x {m['dim']} {dtype} "
                   f"({record['tower'].get('kind')}, {record['sampling']}, <= "
                   f"{record['frames_per_shot']} frames/shot){left_out}; "
                   f"{result.shards_run} shard(s) run, {result.shards_reused} reused; "
                   f"{timing['frames_per_s']} frames/s")
        if record["tower"].get("note"):
            click.echo(f"note: {record['tower']['note']}")
        if record["tower"].get("heads_note"):
            click.echo(f"note: {record['tower']['heads_note']}", err=True)
        for actor in timing.get("actors", []):
            click.echo(f"actor {actor['actor']} on {actor['node']}: {actor['shards']} shard(s), "
                       f"{actor['shots']} shots, {actor['shots_per_s']} shots/s")
        if record.get("part"):
            click.echo(f"part {record['part']['index']}/{record['part']['of']}: join all "
                       f"{record['part']['of']} with `fpig-trecvid features merge OUT PART...`")


@command.command("merge")
@click.argument("out", type=click.Path())
@click.argument("parts", nargs=-1, required=True, type=click.Path())
@click.option("--overwrite", is_flag=True, help="Replace an existing store at OUT.")
@click.option("--quiet", is_flag=True, help="No summary line.")
def merge(out: str, parts: tuple, overwrite: bool, quiet: bool) -> None:
    """Join the partial stores of `features extract --shard 1/N .. N/N` into the store OUT.

    Every part must be given once, with the same settings and tower; the rows come in
    shot-list order, so OUT is the store one machine would have written.
    """
    from ..extract.parts import merge_stores

    manifest = merge_stores(out, parts, overwrite)
    if not quiet:
        click.echo(f"wrote {out}: {manifest['count']} shots x {manifest['dim']} "
                   f"{manifest['dtype']} from {len(parts)} parts")
