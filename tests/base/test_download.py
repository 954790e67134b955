"""base.download against a loopback server: a file too big for what is fetched is refused,
whether the server announces its size or just keeps sending (no Content-Length), and so is one
that trickles in for longer than the deadline."""
import pytest
from support.loopback import SLOW, UNSIZED, serving

from trecvid_fpig.base.download import DownloadFailed, download

DATA = bytes(range(256)) * 40                       # 10,240 bytes


@pytest.mark.parametrize("prefix", ["", UNSIZED])
def test_the_whole_file_within_the_limit(prefix):
    with serving({"/f": DATA}) as url:
        assert download(url + prefix + "/f", "f", limit=len(DATA)) == DATA


@pytest.mark.parametrize("prefix, message", [
    ("", "the server announces 10240 bytes, more than the 1000"),
    (UNSIZED, "the server sent more than 1000 bytes"),
])
def test_more_than_the_limit_is_refused(prefix, message):
    with serving({"/f": DATA}) as url:
        with pytest.raises(DownloadFailed, match=message):
            download(url + prefix + "/f", "f", limit=1000)


def test_a_server_that_trickles_is_given_up_at_the_deadline():
    """100 bytes every 20 ms never trips the per-read timeout; the deadline ends it."""
    with serving({"/f": DATA}) as url:
        with pytest.raises(DownloadFailed, match=r"only \d+ bytes after 0.1 s"):
            download(url + SLOW + "/f", "f", deadline=0.1)
