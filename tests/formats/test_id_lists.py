"""One reader for files of shot ids (`id_lists.read_id_list`), used by `run --exclude`,
`extract --shots` and the ids of a .npy matrix: one rule for blank lines, a BOM, '#', and
file:line errors."""
import numpy as np
import pytest

from trecvid_fpig.base.ids import MAX_ID_CHARS
from trecvid_fpig.errors import InputError
from trecvid_fpig.formats.features import read_npy
from trecvid_fpig.formats.id_lists import read_id_list, resolve_exclude

HUGE = "x" * (MAX_ID_CHARS + 1)


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_blank_lines_bom_several_a_line_and_no_comments(tmp_path):
    listed = write(tmp_path / "ids", b"\xef\xbb\xbfshot00001_1\r\n\n  \nshot00001_2 shot00001_3\n"
                                     b"#shot00001_4\n")
    assert read_id_list(listed) == ["shot00001_1", "shot00001_2", "shot00001_3", "#shot00001_4"]


def test_empty_list_is_refused(tmp_path):
    with pytest.raises(InputError, match="empty shot id list"):
        read_id_list(write(tmp_path / "ids", b"\xef\xbb\xbf \n\n"))


def test_a_long_id_is_named_by_its_line_even_with_several_ids_a_line(tmp_path):
    listed = write(tmp_path / "ids", f"shot00001_1 shot00001_2\n\nshot00001_3 {HUGE}\n".encode())
    with pytest.raises(InputError) as err:
        read_id_list(listed)
    assert err.value.line == 3 and f"{MAX_ID_CHARS + 1} characters" in err.value.reason


def test_exclude_and_npy_ids_follow_the_same_rule(tmp_path):
    """--exclude and a .npy's ids file read a BOM'd, blank-lined list alike, and name a bad
    line the same way (the .npy reader once said only 'row N')."""
    text = b"\xef\xbb\xbfshot00001_1\n\nshot00001_2\n"
    ids, _ = resolve_exclude([str(write(tmp_path / "ex.txt", text))])
    np.save(tmp_path / "m.npy", np.ones((2, 4), dtype=np.float32))
    write(tmp_path / "m.ids.txt", text)
    assert ids == set(read_npy(tmp_path / "m.npy").ids) == {"shot00001_1", "shot00001_2"}
    write(tmp_path / "m.ids.txt", f"shot00001_1\n\n{HUGE}\n".encode())
    with pytest.raises(InputError) as err:
        read_npy(tmp_path / "m.npy")
    assert err.value.line == 3 and str(err.value.path).endswith("m.ids.txt")
