#!/usr/bin/env python3
"""Slowloris client for the server tests: opens N TLS connections to HOST:PORT (loopback only),
sends the start of an HTTP request and then one byte per second, never finishing it. Runs until
the server has cut every connection, or SECONDS pass; prints how many it cut off."""
import socket, ssl, sys, time

host, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
assert host in ("127.0.0.1", "::1", "localhost"), "loopback only"
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conns = []
for _ in range(n):
    try:
        # Generous: connections beyond the server's worker threads wait in its queue until the
        # request timeout frees a worker, which takes longer on a busy machine or under ASan.
        raw = socket.create_connection((host, port), timeout=20)
        s = ctx.wrap_socket(raw)
        s.send(b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\n")
        conns.append(s)
    except Exception:
        pass
print(f"open {len(conns)}", flush=True)
end = time.time() + seconds
cut = 0
while time.time() < end and conns:
    time.sleep(1)
    alive = []
    for s in conns:
        try:
            s.send(b"X")
            alive.append(s)
        except Exception:
            cut += 1
    conns = alive
print(f"cut {cut}", flush=True)
