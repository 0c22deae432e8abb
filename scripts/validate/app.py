"""The synthetic WSGI application the validation harness serves (harness.py).

GET /?cpu_ms=C&io_ms=I&bytes=B
  1. spins until this thread has used C ms of CPU (time.thread_time(), so time spent waiting for a
     core or for the GIL does not count: the request really costs C ms of CPU),
  2. sleeps I ms (an IO wait that uses no CPU and releases the GIL),
  3. answers 200 with a body of B bytes (default 100).
Each is clamped (cpu and io to 10 s, bytes to 10 MB) so no request can run away.

The WSGI callable is `application` (gunicorn, cheroot, waitress, mod_wsgi's WSGIScriptAlias).
`twisted_resource(threads)` wraps it in a twisted.web WSGIResource on the reactor's thread pool, and
`python app.py twisted PORT [THREADS]` serves it with twisted.web on 127.0.0.1:PORT.
"""
import sys
import time
from urllib.parse import parse_qsl

MAX_MS = 10_000.0
MAX_BYTES = 10 * 1024 * 1024
_BLOCK = b"x" * 65536


def _number(params, name, default, cap):
    try:
        value = float(params.get(name, default))
    except ValueError:
        return default
    return min(max(value, 0.0), cap)


def spin(cpu_ms):
    """Use cpu_ms of this thread's CPU time."""
    end = time.thread_time() + cpu_ms / 1000.0
    x = 0
    while time.thread_time() < end:
        for _ in range(200):  # a little work between clock reads, which are system calls
            x += 1
    return x


def application(environ, start_response):
    params = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    cpu_ms = _number(params, "cpu_ms", 0.0, MAX_MS)
    io_ms = _number(params, "io_ms", 0.0, MAX_MS)
    size = int(_number(params, "bytes", 100, MAX_BYTES))
    if cpu_ms > 0:
        spin(cpu_ms)
    if io_ms > 0:
        time.sleep(io_ms / 1000.0)
    body = (_BLOCK * (size // len(_BLOCK) + 1))[:size]
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return [body]


def twisted_resource(threads=10):
    """A twisted.web resource serving `application` in the reactor's thread pool of `threads`."""
    from twisted.internet import reactor
    from twisted.web.wsgi import WSGIResource

    reactor.suggestThreadPoolSize(threads)
    return WSGIResource(reactor, reactor.getThreadPool(), application)


def serve_twisted(port, threads=10):
    from twisted.internet import reactor
    from twisted.web.server import Site

    site = Site(twisted_resource(threads))
    site.displayTracebacks = False
    # Twisted logs nothing unless a log observer is started, so no access log slows it down.
    reactor.listenTCP(port, site, backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "twisted":
        serve_twisted(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 10)
    else:
        sys.exit("usage: python app.py twisted PORT [THREADS]")
