"""``fpig-trecvid runs``: convert a run between TREC and NIST's XML; check a submission."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..base.locks import output_lock
from .output import check_out, tell


@click.group("runs")
def command() -> None:
    """Convert run files between TREC and NIST's AVS XML; check a submission before sending it."""


def _elapsed(ctx: click.Context, param: click.Parameter, value: float) -> int:
    """--elapsed as the whole seconds written; NaN, infinity and absurd times are refused."""
    from ..errors import InputError
    from ..formats.avs_xml import elapsed_seconds

    try:
        return elapsed_seconds(value)
    except InputError as exc:
        raise click.BadParameter(exc.reason) from None


@command.command("convert")
@click.argument("src", type=click.Path())
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--to", "target", type=click.Choice(["trec", "xml"]), required=True)
@click.option("--run-id", metavar="TAG", help="TREC tag; default: the file name up to its first dot.")
@click.option("--xml-field", "xml_fields", multiple=True, metavar="KEY=VALUE",
              help="XML run attribute: pid, priority, trType (A|D|E|F), class (F|M|R), "
                   "task (M|P), novelty (C|N), desc.")
@click.option("--elapsed", type=float, default=1, show_default=True, callback=_elapsed,
              help="elapsedTime of every topic, in seconds (XML only): 0 to 86400000 (a "
                   "day's seconds x 1000), written rounded up to whole seconds, at least 1.")
def convert(src: str, dst: str, target: str, run_id: Optional[str], xml_fields: Tuple[str, ...],
            elapsed: int) -> None:
    """Write SRC (TREC or XML, told apart by content; - is standard input) as DST.

    XML keeps no scores: to TREC, the shot at position i of n scores n - i. Going to XML, topic
    1661 is written tNum 661, each topic holds its first 1000 shots in NIST's order (the
    scorer reads no more), and a shot on several lines is written once; stderr names both. Converting XML to TREC prints the run attributes, to give back
    with --xml-field on the way back.
    """
    check_out(dst, [("run", src)])
    with output_lock(dst):
        _convert(src, dst, target, run_id, xml_fields, elapsed)


def _convert(src: str, dst: str, target: str, run_id: Optional[str], xml_fields: Tuple[str, ...],
             elapsed: int) -> None:
    from dataclasses import replace

    from ..base.ids import topic_of_run_id
    from ..formats.avs_xml import (looks_like_xml, parse_avs_xml, run_attributes, run_bytes,
                                   submission_shots, write_avs_xml)
    from ..formats.runs import run_from_bytes
    from .options import xml_field_values

    raw = run_bytes(src)                     # once: SRC may be a pipe
    run = run_from_bytes(raw, src)
    if target == "trec":
        run = replace(run, tag=run_id or run.tag)
        run.to_trec(dst, depth=None)
        if looks_like_xml(raw):
            attributes = parse_avs_xml(raw, src).attributes
            click.echo("run attributes: " + " ".join(f"{k}={v}" for k, v in attributes.items()),
                       err=True)
        return
    tag = run_id or run.tag
    fields = xml_field_values(xml_fields)
    attributes = run_attributes(fields, pid=fields.get("pid", tag), desc=fields.get("desc", tag),
                                task=fields.get("task", "M"))
    topics = []
    for topic, ranking in run.topics.items():
        shots, cut = submission_shots(ranking.shots)
        topics.append((topic_of_run_id(topic, src), elapsed, shots))
        if ranking.repeated:
            tell(f"warning: {src}: topic {topic}: {len(ranking.repeated)} "
                 f"shot(s) on more than one line, written once at the last line's score "
                 f"(as NIST's scorer reads them): {_listed(ranking.repeated)}")
        if cut:
            tell(f"warning: {src}: topic {topic}: {len(ranking.shots)} "
                 f"shots; the XML keeps the first {len(shots)} as NIST's scorer ranks "
                 f"them (a submission holds at most {len(shots)}), {cut} left out")
    write_avs_xml(dst, attributes, topics)


def _listed(shots: Tuple[str, ...], most: int = 5) -> str:
    return ", ".join(shots[:most]) + (f", … {len(shots)} in all" if len(shots) > most else "")


@command.command("check")
@click.option("--topics", "topic_spec", required=True, metavar="tv23|FILE",
              help="The topic set the runs answer: a shipped name or a topic file.")
@click.option("--collection", type=click.Path(), metavar="ids.txt",
              help="Every shot id of the collection, white-space separated.")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
def check(topic_spec: str, collection: Optional[str], runs: Tuple[str, ...]) -> None:
    """Validate RUNS (TREC or XML) as NIST will, without qrels: list problems as FILE:LINE, exit 1."""
    from ..evaluate.submission_rules import Expectations, check_run_file, read_id_list
    from ..formats.id_lists import dropped_shots
    from ..formats.topics import load_topics

    topics = load_topics(topic_spec)
    expect = Expectations(topics, read_id_list(collection) if collection else None,
                          dropped_shots(topics.collection))
    problems = {run: check_run_file(run, expect) for run in runs}
    for p in (p for found in problems.values() for p in found):
        click.echo(str(p))
    failing = [found for found in problems.values() if found]
    if failing:
        tell(f"{sum(map(len, failing))} problem(s) in {len(failing)} run(s)")
        raise SystemExit(1)
    click.echo(f"{len(runs)} run(s) valid for {topics.name}")
