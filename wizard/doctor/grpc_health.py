"""`grpc.health.v1.Health/Check` over plain HTTP/2 (h2c, prior knowledge), without a gRPC library.

The Agent Platform serves the standard, unauthenticated health service. One request is small
enough to write by hand: the HTTP/2 preface, an empty SETTINGS frame, one HEADERS frame
(HPACK literals, no Huffman, no dynamic table), one DATA frame holding an empty
HealthCheckRequest. The answer's DATA frame holds HealthCheckResponse{status}; 1 is SERVING.
Header blocks of the answer are not decoded: no DATA frame means no status.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
PATH = "/grpc.health.v1.Health/Check"


@dataclass(frozen=True)
class Health:
    status: str
    """SERVING, NOT_SERVING, …, or "" when no health answer came (see `problem`)."""
    problem: str = ""

    @property
    def serving(self) -> bool:
        return self.status == "SERVING"


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def _literal(name: bytes | int, value: str) -> bytes:
    """HPACK "literal header field without indexing": an indexed name (int) or a new one."""
    encoded = value.encode()
    if isinstance(name, int):
        head = bytes([name])  # 0000xxxx with a static-table index below 15
    else:
        head = b"\x00" + bytes([len(name)]) + name
    return head + bytes([len(encoded)]) + encoded


def request(authority: str) -> bytes:
    headers = (
        b"\x83"  # :method POST (static index 3)
        + b"\x86"  # :scheme http (static index 6)
        + _literal(4, PATH)  # :path
        + _literal(1, authority)  # :authority
        + _literal(b"content-type", "application/grpc")
        + _literal(b"te", "trailers")
    )
    message = b"\x00" + struct.pack(">I", 0)  # not compressed, empty HealthCheckRequest
    return PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS, 1, headers) + frame(DATA, END_STREAM, 1, message)


def parse_status(message: bytes) -> str:
    """HealthCheckResponse from a gRPC message (5-byte prefix, then protobuf field 1, varint)."""
    body = message[5:]
    if len(body) >= 2 and body[0] == 0x08:
        return STATUSES.get(body[1], f"status {body[1]}")
    return STATUSES[0] if not body else ""


def check(host: str, port: int, timeout: float = 3.0, *, raise_on_connect: bool = False) -> Health:
    """Ask once; with `raise_on_connect`, a failed connection raises its OSError instead."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        if raise_on_connect:
            raise
        return Health("", error.strerror or str(error))
    try:
        with sock:
            sock.sendall(request(f"{host}:{port}"))
            buffer = b""
            while time.monotonic() < deadline:
                while len(buffer) >= 9:
                    length = int.from_bytes(buffer[:3], "big")
                    if len(buffer) < 9 + length:
                        break
                    kind, flags = buffer[3], buffer[4]
                    stream = struct.unpack(">I", buffer[5:9])[0] & 0x7FFFFFFF
                    payload, buffer = buffer[9 : 9 + length], buffer[9 + length :]
                    if kind == SETTINGS and not flags & ACK:
                        sock.sendall(frame(SETTINGS, ACK, 0))
                    elif kind == DATA and stream == 1:
                        status = parse_status(payload)
                        return Health(status) if status else Health("", "the answer is not a HealthCheckResponse")
                    elif kind in (RST_STREAM, GOAWAY):
                        return Health("", "the server reset the request (not gRPC over plain HTTP/2: TLS?)")
                    elif kind == HEADERS and stream == 1 and flags & END_STREAM:
                        return Health("", "answered without a health status (no health service?)")
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    return Health("", "the connection closed without an answer (not gRPC over plain HTTP/2: TLS?)")
                buffer += chunk
    except TimeoutError:
        return Health("", f"no gRPC answer within {timeout:g} s")
    except OSError as error:
        return Health("", error.strerror or str(error))
    return Health("", f"no gRPC answer within {timeout:g} s")
