"""A reverse proxy for tests: one address on 127.0.0.1 in front of several app servers, each request sent to the
next server in turn, with the X-Forwarded-For/Proto/Host headers a production proxy adds. It records which
server answered what, so a test can show that a flow really crossed servers."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

import requests
from werkzeug.wrappers import Request, Response

from tests.helpers import LiveServer

# Hop-by-hop headers, and the ones the proxy recomputes for the body it sends on.
_NOT_FORWARDED = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                  "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"}


@dataclass(frozen=True)
class Served:
    method: str
    path: str
    server: int  # index into the proxy's backends
    status: int


class RoundRobinProxy:
    def __init__(self, port: int, backends: list[str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.backends = backends
        self.served: list[Served] = []
        self._turn = 0
        self._lock = threading.Lock()
        self.server = LiveServer(self._wsgi, port)  # type: ignore[arg-type]  (serves any WSGI callable)

    def servers_for(self, path: str) -> list[int]:
        """Which server answered each request for `path`, in order."""
        return [served.server for served in self.served if served.path == path]

    def _wsgi(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        with self._lock:
            index, self._turn = self._turn, (self._turn + 1) % len(self.backends)
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _NOT_FORWARDED}
        headers.update({"X-Forwarded-For": request.remote_addr or "", "X-Forwarded-Proto": request.scheme,
                        "X-Forwarded-Host": request.host})
        query = environ.get("QUERY_STRING", "")
        url = self.backends[index] + request.path + (f"?{query}" if query else "")
        upstream = requests.request(request.method, url, headers=headers, data=request.get_data(),
                                    allow_redirects=False, timeout=30)
        with self._lock:
            self.served.append(Served(request.method, request.path, index, upstream.status_code))
        answer = [(name, value) for name, value in upstream.raw.headers.iteritems()  # each Set-Cookie on its own
                  if name.lower() not in _NOT_FORWARDED]
        return Response(upstream.content, status=upstream.status_code, headers=answer)(environ, start_response)
