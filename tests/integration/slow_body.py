#!/usr/bin/env python3
"""A slow uplink for the server tests: POSTs FILE to https://HOST:PORT/api/v1/reports over mutual
TLS (loopback only), sending the body at RATE bytes per second in small, evenly spaced parts.
Prints "STATUS SECONDS" (STATUS 0 when the server closed the connection without an answer).
Usage: slow_body.py HOST PORT CA CERT KEY FILE RATE"""
import socket, ssl, sys, time

host, port, ca, cert, key, path, rate = sys.argv[1:8]
port, rate = int(port), float(rate)
assert host in ("127.0.0.1", "::1", "localhost"), "loopback only"
body = open(path, "rb").read()
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
ctx.load_cert_chain(cert, key)
start = time.monotonic()
status = 0
try:
    s = ctx.wrap_socket(socket.create_connection((host, port), timeout=30))
    s.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: hearth\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    tick = 0.05
    part = max(1, int(rate * tick))
    sent = 0
    try:
        while sent < len(body):
            s.sendall(body[sent:sent + part])
            sent += part
            # Evenly paced against the start: the average rate is RATE whatever sleeping costs.
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    except (OSError, ssl.SSLError):
        pass  # cut off: the server's answer (408) may still be there to read
    answer = b""
    while b"\r\n" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    if answer.startswith(b"HTTP/1.1 "):
        status = int(answer.split(b" ")[1])
except (OSError, ssl.SSLError):
    status = 0
print(f"{status} {time.monotonic() - start:.1f}", flush=True)
