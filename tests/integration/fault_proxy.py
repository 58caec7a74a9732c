#!/usr/bin/env python3
"""A TCP fault proxy for the agent's delivery tests (loopback only).

Listens on --listen (port 0 = any free port), prints "listening proxy=HOST:PORT" on stdout and
relays each connection to --upstream. It never decrypts anything: it only reads the 5-byte TLS
record headers of what the client sends, to recognise the report upload (a client
application-data record of at least --upload-bytes bytes: the report envelope; handshake messages
and the policy request are smaller).

What it does to a connection is read from --mode-file when the connection is accepted (a missing
or empty file means "pass"), so a test switches faults between agent runs without restarting it:

  pass    relay both ways
  stall   accept, read and discard what the client sends, never connect upstream, never answer
  hangup  accept, read the client's first bytes (its TLS ClientHello), then reset the connection
  slow    relay, writing every byte separately (TCP_NODELAY), one byte per --slow-delay seconds
          (paced against the clock: a busy machine's late wake-ups do not add up)
  reset   relay until the upload, forward half of that record, then reset both connections (RST)
  cut     relay the whole upload to the server, then drop the server's answer and reset the
          client: the server stored the report but the agent never heard so
  alt     relay to another server instead: the one named after the mode ("alt HOST:PORT") or
          --alt-upstream (e.g. a server whose certificate comes from another CA)

Each connection's outcome goes to stderr as one line:
  conn N mode=M client_bytes=B largest_client_record=R server_bytes=S upload_forwarded=yes|no
       answer_dropped=yes|no reset=yes|no fault=none|upload_reset|answer_dropped|handshake_reset|stalled
Stop it with SIGTERM.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def allowed(host):
    return host in LOOPBACK or host.startswith("10.")


def split_addr(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def rst(sock):
    """Closes `sock` with a TCP reset rather than a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def shut(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class Conn:
    """One client connection, relayed by one thread (so a reset is never raced by a blocked
    recv in another thread, which would delay the RST until that recv returns)."""

    def __init__(self, number, client, mode, alt, args):
        self.n = number
        self.alt = alt
        self.client = client
        self.mode = mode
        self.args = args
        self.upstream = None
        self.client_bytes = 0
        self.server_bytes = 0
        self.largest = 0
        self.buf = b""
        self.upload_forwarded = False
        self.answer_dropped = False
        self.reset = False
        self.fault = "none"  # what this proxy did to the connection, for the test to check

    def send(self, sock, data):
        if self.mode == "slow":
            # Byte i leaves at start + i * delay: sleeping a fixed delay after each byte made the
            # link as slow as the scheduler's wake-up latency (9 KB took > 5 s on a loaded machine,
            # past the agent's request timeout), not the rate the test asks for.
            start = time.monotonic()
            for i in range(len(data)):
                sock.sendall(data[i:i + 1])
                if self.args.slow_delay > 0:
                    wait = start + (i + 1) * self.args.slow_delay - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
        else:
            sock.sendall(data)

    def kill(self):
        self.reset = True
        rst(self.client)
        if self.upstream is not None:
            rst(self.upstream)

    def from_client(self, data):
        """Forwards whole TLS records; returns False when the connection was reset."""
        self.buf += data
        while len(self.buf) >= 5:
            ctype, length = self.buf[0], struct.unpack(">H", self.buf[3:5])[0]
            if ctype < 20 or ctype > 24:  # not TLS: pass it on as it is
                self.send(self.upstream, self.buf)
                self.buf = b""
                break
            if len(self.buf) < 5 + length:
                break
            record, self.buf = self.buf[:5 + length], self.buf[5 + length:]
            self.largest = max(self.largest, length)
            is_upload = ctype == 23 and length >= self.args.upload_bytes
            if is_upload and self.mode == "reset":
                self.fault = "upload_reset"
                self.send(self.upstream, record[:5 + length // 2])
                time.sleep(0.05)  # let the half record reach the server first
                self.kill()
                return False
            self.send(self.upstream, record)
            if is_upload:
                self.upload_forwarded = True
        return True

    def relay(self):
        open_ = {self.client: True, self.upstream: True}
        while any(open_.values()):
            ready, _, _ = select.select([s for s, o in open_.items() if o], [], [])
            for s in ready:
                data = s.recv(65536)
                if s is self.client:
                    if not data:
                        open_[s] = False
                        if self.buf:
                            self.send(self.upstream, self.buf)
                            self.buf = b""
                        shut(self.upstream)
                        continue
                    self.client_bytes += len(data)
                    if not self.from_client(data):
                        return
                else:
                    if not data:
                        open_[s] = False
                        shut(self.client)
                        continue
                    self.server_bytes += len(data)
                    if self.mode == "cut" and self.upload_forwarded:
                        # The server answered the upload, so the report is stored; the agent
                        # never hears it.
                        self.answer_dropped = True
                        self.fault = "answer_dropped"
                        self.kill()
                        return
                    self.send(self.client, data)
        for s in (self.client, self.upstream):
            s.close()

    def run(self):
        try:
            if self.mode == "hangup":
                self.fault = "handshake_reset"
                self.client_bytes += len(self.client.recv(65536))
                self.kill()
                return
            if self.mode == "stall":
                self.fault = "stalled"
                while self.client.recv(65536):
                    pass
                self.client.close()
                return
            target = self.alt if self.mode == "alt" else self.args.upstream
            if not target or not allowed(split_addr(target)[0]):
                self.kill()
                return
            self.upstream = socket.create_connection(split_addr(target), timeout=10)
            self.upstream.settimeout(None)
            for s in (self.client, self.upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.relay()
        except OSError:
            self.kill()
        finally:
            print(f"conn {self.n} mode={self.mode} client_bytes={self.client_bytes} "
                  f"largest_client_record={self.largest} server_bytes={self.server_bytes} "
                  f"upload_forwarded={'yes' if self.upload_forwarded else 'no'} "
                  f"answer_dropped={'yes' if self.answer_dropped else 'no'} "
                  f"reset={'yes' if self.reset else 'no'} fault={self.fault}", file=sys.stderr,
                  flush=True)


def read_mode(path):
    """Returns (mode, argument) from the mode file: "MODE" or "alt HOST:PORT"; a missing or
    empty file means pass."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return "pass", ""
    mode, _, arg = text.partition(" ")
    return (mode or "pass"), arg.strip()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--upstream", required=True)
    p.add_argument("--alt-upstream", default="")
    p.add_argument("--mode-file", required=True)
    p.add_argument("--upload-bytes", type=int, default=1500)
    p.add_argument("--slow-delay", type=float, default=0.0002)
    args = p.parse_args()
    host, port = split_addr(args.listen)
    for addr in (host, split_addr(args.upstream)[0]):  # never a relay to the outside
        if not allowed(addr):
            sys.exit(f"fault_proxy: {addr}: only loopback or 10.x test addresses")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, port))
    lsock.listen(64)
    bound = lsock.getsockname()
    shown = f"[{bound[0]}]" if family == socket.AF_INET6 else bound[0]
    print(f"listening proxy={shown}:{bound[1]}", flush=True)
    n = 0
    while True:
        client, _ = lsock.accept()
        n += 1
        mode, arg = read_mode(args.mode_file)
        conn = Conn(n, client, mode, arg or args.alt_upstream, args)
        threading.Thread(target=conn.run, daemon=True).start()


if __name__ == "__main__":
    main()
