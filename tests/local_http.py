"""A file server on 127.0.0.1 for download tests: serves a folder, can break transfers on purpose."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class BreakableHandler(SimpleHTTPRequestHandler):
    """Serves files; ``server.breaks[name] = n`` cuts the next ``n`` transfers of ``name`` halfway
    (the full length is announced, half the bytes are sent, the connection is closed)."""

    def copyfile(self, source, outputfile) -> None:
        name = Path(self.path).name
        breaks = self.server.breaks
        if breaks.get(name, 0) > 0:
            breaks[name] -= 1
            content = source.read()
            outputfile.write(content[: len(content) // 2])
            self.close_connection = True
            return
        super().copyfile(source, outputfile)

    def log_message(self, format, *args) -> None:  # keep test output quiet
        self.server.requests.append(self.path)


@contextmanager
def serve(folder: Path) -> Iterator[ThreadingHTTPServer]:
    """Serve ``folder`` on a free port; ``server.url`` is its base address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(BreakableHandler, directory=str(folder)))
    server.breaks, server.requests = {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
