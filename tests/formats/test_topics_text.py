"""A topic file whose lines do not hold one topic's words each is refused, never encoded as a
topic's text: CR line ends, `topics list` output."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from trecvid_fpig.cli import cli
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.topics import REGISTRY, load_topics, parse_topics


@pytest.mark.parametrize("data", [b"661 a dog\r662 a cat\r", b"661 a dog\r662 a cat"])
def test_cr_line_ends_are_refused(tmp_path, data):
    # lines end at LF: topic 662 was read as the end of topic 661's text
    path = tmp_path / "topics.txt"
    path.write_bytes(data)
    with pytest.raises(InputError, match="CR line ends .*save it with LF"):
        parse_topics(path)


def test_tabs_crlf_and_any_script_stay_topic_text(tmp_path):
    path = tmp_path / "topics.txt"
    path.write_bytes("661\ta\tdog\r\n662 ...\r\n663 😀 café\r\n".encode())
    assert parse_topics(path).texts == ("a\tdog", "...", "😀 café")


def test_topics_list_output_is_not_read_as_a_topic_file(tmp_path):
    # its texts would have been encoded as '1731 <text>'
    listed = CliRunner().invoke(cli, ["topics", "list", "tv23", "--narrative"])
    assert listed.exit_code == 0
    path = tmp_path / "narrative.txt"
    path.write_text(listed.stdout)
    with pytest.raises(InputError, match=r"topic 731's text starts with its run id 1731.*cut"):
        parse_topics(path)
    path.write_text("".join(f"{row.split(chr(9))[0]}\t{row.split(chr(9))[2]}\n"
                            for row in listed.stdout.splitlines()))
    assert parse_topics(path).texts == load_topics("tv23", narrative=True).texts


def test_a_text_may_start_with_another_number(tmp_path):
    path = tmp_path / "topics.txt"
    path.write_text("661 1662 people\n662 1661\n")
    assert parse_topics(path).texts == ("1662 people", "1661")


def test_every_shipped_set_reads():
    for info in REGISTRY.values():
        assert len(load_topics(info.name)) == info.last_id - info.first_id + 1
        if info.narrative:
            assert len(load_topics(info.name, narrative=True))


def test_an_empty_name_is_an_unknown_set_not_the_current_folder():
    # Path('') is '.': the error named '.' as a directory the user never gave
    with pytest.raises(InputError, match="unknown topic set ''"):
        load_topics("")
