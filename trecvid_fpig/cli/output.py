"""Printing a command's result, or writing it atomically with --out; notes go to stderr."""
from __future__ import annotations

from typing import Iterable, Optional

import click

from ..textio import write_text_atomic


def emit(text: str, out: Optional[str] = None, notes: Iterable[str] = ()) -> None:
    if out:
        write_text_atomic(out, text)
    else:
        click.echo(text, nl=False)
    for note in notes:
        click.echo(f"fpig-trecvid: {note}", err=True)
