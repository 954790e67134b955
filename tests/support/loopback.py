"""A loopback HTTP server for the download tests: files by path, and a path that drops the
connection halfway (it promises the whole file, sends half, and closes)."""
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: prefix of the paths whose download is cut off halfway
DROPPED = "/dropped"
#: prefix of the paths sent without a Content-Length (the end is where the connection closes)
UNSIZED = "/unsized"
#: prefix of the paths sent 100 bytes every 20 ms
SLOW = "/slow"


@contextmanager
def serving(files):
    """Serve `files` ({"/path": bytes}) on 127.0.0.1; yields the base URL."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            dropped = self.path.startswith(DROPPED)
            unsized = self.path.startswith(UNSIZED)
            slow = self.path.startswith(SLOW)
            prefix = DROPPED if dropped else UNSIZED if unsized else SLOW if slow else ""
            data = files.get(self.path[len(prefix):])
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            if unsized:
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if slow:
                try:
                    for start in range(0, len(data), 100):
                        self.wfile.write(data[start:start + 100])
                        self.wfile.flush()
                        time.sleep(0.02)
                except OSError:          # the client gave up: what the test wants
                    self.close_connection = True
                return
            self.wfile.write(data[:len(data) // 2] if dropped else data)
            if dropped:
                self.wfile.flush()
                self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url(path="/f"):
    """A URL on 127.0.0.1 where nothing listens (a port just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
