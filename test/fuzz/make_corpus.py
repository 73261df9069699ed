#!/usr/bin/env python3
"""Writes the seed corpora: plain requests and responses framed as the
harnesses read them (a control byte, then up to 64 bytes of data)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(data, tick_every=0, eof=False, next_every=0):
    out = bytearray()
    pieces = [data[i:i + 64] for i in range(0, len(data), 64)] or [b""]
    for k, piece in enumerate(pieces):
        ctl = len(piece) - 1 if piece else 0
        if tick_every and (k + 1) % tick_every == 0:
            ctl |= 0x40
        if next_every:
            ctl |= 0x40
        if eof and k == len(pieces) - 1:
            ctl |= 0x80
        out.append(ctl)
        out += piece
    if tick_every:
        out += bytes([0x40, 0x0a])  # one more tick to send what is due
    return bytes(out)


REQUESTS = {
    "get": b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n",
    "head": b"HEAD /ping HTTP/1.1\r\nHost: a\r\n\r\n",
    "pipelined": b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n" * 3 + b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n" * 3,
    "http10": b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ping HTTP/1.0\r\n\r\n",
    "chunked": b"POST /ping HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "content_length": b"PUT /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "expect": b"POST /ping HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "smuggle": b"POST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "absolute": b"GET http://a:80/ping?x=1 HTTP/1.1\r\nHost: a:80\r\n\r\n",
    "fold": b"GET /ping HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    "close": b"GET /ping HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /ping HTTP/1.1\r\n",
    "upgrade": b"GET /ping HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00",
    "big_header": b"GET /ping HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 1500 + b"\r\n\r\n",
    "version": b"GET /ping HTTP/2.0\r\nHost: a\r\n\r\n",
}

RESPONSES = {
    "content_length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    "close_delimited": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until the end",
    "continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "no_content": b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
    "status": b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nRetry-After: 1\r\n\r\nno",
    "http10": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "two": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    "garbage": b"SSH-2.0-OpenSSH_9.2\r\n",
    "switch": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
}


def write(kind, name, data):
    path = os.path.join(HERE, "corpus", kind, name)
    with open(path, "wb") as f:
        f.write(data)


for name, req in REQUESTS.items():
    write("hserver", name, frame(req, tick_every=2, eof=name in ("close", "get")))
for name, rsp in RESPONSES.items():
    write("hclient", name, frame(rsp, eof=name == "close_delimited", next_every=name == "two"))
