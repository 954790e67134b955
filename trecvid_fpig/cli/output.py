"""Printing a command's result, or writing it atomically with --out; notes go to stderr."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import click

from ..base.locks import output_lock
from ..base.outputs import refuse_input_as_output, write_text_atomic
from ..errors import one_line


def check_out(out: Optional[str], inputs: Iterable[Tuple[str, Optional[object]]]) -> None:
    """Before any work: refuse an --out that is one of the inputs (same file, links included)."""
    if out:
        refuse_input_as_output([out], inputs)


def manifest_inputs(spec) -> List[Tuple[str, Path]]:
    """Every file a report manifest names (runs, qrels files, R@K results and matrices)."""
    inputs: List[Tuple[str, Path]] = [("manifest", spec.path)]
    if spec.published is not None:
        inputs.append(("published values", spec.published))
    for model in spec.models:
        for entry in model.trecvid.values():
            inputs += [("run", entry.run), ("qrels", Path(entry.qrels))]
        for entry in model.recall.values():
            inputs += [("R@K result", entry.result), ("similarity matrix", entry.sims)]
            inputs += [("ground truth", value) for key, value in entry.options if key == "gt"]
    return inputs


def tell(text: str) -> None:
    """One line on stderr after the program's name (``warning: FILE: …``, ``note: …``); a
    control character in a file name or value is shown escaped, so it stays one line."""
    click.echo(f"fpig-trecvid: {one_line(text)}", err=True)


def emit(text: str, out: Optional[str] = None, notes: Iterable[str] = ()) -> None:
    if out:
        with output_lock(out):
            write_text_atomic(out, text)
    else:
        click.echo(text, nl=False)
    for note in notes:
        tell(note)
