"""``fpig-trecvid features``: convert shot features to the toolkit's store, and inspect one."""
from __future__ import annotations

import json
from typing import Optional

import click

from ..search.store import (POOLS, STORE_DTYPES, convert_features, manifest_lines, read_features,
                            verify_store)


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
              help="Re-hash a store's features.npy and ids.npy against its manifest (reads "
                   "every byte); a mismatch is an error, exit 2.")
def inspect(store: str, ids: Optional[str], as_json: bool, verify: bool) -> None:
    """Print what STORE (or any readable feature source) holds, without reading its values."""
    features = read_features(store, ids)
    if verify:
        verify_store(features)
    if as_json:
        click.echo(json.dumps(features.manifest, indent=2))
        return
    lines = manifest_lines(features)
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{label:<{width}}  {value}")
