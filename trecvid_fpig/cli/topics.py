"""``fpig-trecvid topics``: the shipped NIST topic sets."""
from __future__ import annotations

from typing import Optional

import click

from ..formats.topics import REGISTRY, load_topics


@click.group("topics")
def command() -> None:
    """List the shipped TRECVID AVS topic sets and their topics."""


@command.command("list")
@click.argument("topic_set", required=False)
@click.option("--narrative", is_flag=True, help="Print the narrative form (tv22, tv23).")
def list_topics(topic_set: Optional[str], narrative: bool) -> None:
    """Without TOPIC_SET, the shipped sets; with one (name or path), its topics.

    The second column is the id NIST's qrels and run files use (topic 661 is 1661).
    """
    if topic_set is None:
        for info in REGISTRY.values():
            qrels = "qrels shipped" if info.shipped_qrels else "qrels fetched" if info.qrels \
                else "qrels from NIST"
            click.echo(f"{info.name:<14} {info.collection}  {info.first_id}-{info.last_id}  "
                       f"{info.last_id - info.first_id + 1:>2} topics  {qrels}")
        click.echo("other years (tv24, tv25): save NIST's topics as a file of 'NUMBER text' lines "
                   "(docs/formats.md#topics) and give its path wherever a set name goes")
        return
    topics = load_topics(topic_set, narrative=narrative)
    for tid, qid, text in zip(topics.ids, topics.qrels_ids, topics.texts):
        click.echo(f"{tid}\t{qid}\t{text}")
