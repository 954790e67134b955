"""Downloading a small file into memory over HTTP(S), with a progress bar.

The caller verifies what arrives (a hash) before anything is written, so a download never
leaves a file behind: a refused host, a timeout or a connection dropped halfway is one
:class:`DownloadFailed` saying why, and the bytes received so far are dropped.
"""
from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request

#: Seconds without a byte before a download is given up.
TIMEOUT_S = 60
#: The most bytes kept: the files fetched are a few MB (NIST's qrels: 3-5 MB), and a server
#: that sends without end (no Content-Length) must not fill the memory.
MAX_BYTES = 64 << 20
#: Seconds for the whole download (5 MB at 5 kB/s): a server that trickles a byte now and
#: then never trips TIMEOUT_S, so the time in all is bounded too.
DEADLINE_S = 20 * 60
_BLOCK = 1 << 16


class DownloadFailed(Exception):
    """The download did not complete; the message says why, in a few words."""


def download(url: str, description: str, timeout: float = TIMEOUT_S,
             limit: int = MAX_BYTES, deadline: float = DEADLINE_S) -> bytes:
    """The bytes at `url`, the whole of them; a tqdm bar named `description` on a terminal.
    More than `limit` bytes (announced or received), or more than `deadline` seconds in all
    (checked at each read, which returns what has arrived), is a :class:`DownloadFailed`."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "fpig-trecvid"})
    blocks: list = []
    expected = None
    received = 0
    give_up = time.monotonic() + deadline
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            size = response.headers.get("Content-Length")
            expected = int(size) if size and size.isdigit() else None
            if expected is not None and expected > limit:
                raise DownloadFailed(f"the server announces {expected} bytes, more than the "
                                     f"{limit} a qrels file could be")
            with tqdm(total=expected, unit="B", unit_scale=True, desc=description, leave=False,
                      disable=None) as bar:
                for block in iter(lambda: response.read1(_BLOCK), b""):
                    received += len(block)
                    if received > limit:
                        raise DownloadFailed(f"the server sent more than {limit} bytes, more "
                                             f"than a qrels file could be")
                    if time.monotonic() > give_up:
                        raise DownloadFailed(f"only {received} bytes after {deadline:g} s")
                    blocks.append(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        raise DownloadFailed(f"the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror \
            else exc.reason
        raise DownloadFailed(f"cannot reach the host: {reason}") from None
    except http.client.IncompleteRead as exc:
        received = sum(map(len, blocks)) + len(exc.partial)
        raise DownloadFailed(f"the connection dropped after {received} bytes of "
                             f"{expected if expected is not None else 'more'}") from None
    except (socket.timeout, TimeoutError):
        raise DownloadFailed(f"no data for {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise DownloadFailed(f"the connection failed: {reason}") from None
    data = b"".join(blocks)
    if expected is not None and len(data) != expected:
        raise DownloadFailed(f"the connection dropped after {len(data)} bytes of {expected}")
    return data
