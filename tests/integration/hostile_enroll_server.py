#!/usr/bin/env python3
"""An HTTPS server that refuses every request with a hostile error text (issue 12, defect 9).

Listens on 127.0.0.1 (a free port) with --cert/--key, prints "listening server=HOST:PORT" on
stdout, and answers every request 403 with a JSON body whose "error" holds terminal escapes, a
bell, CR/LF (a forged line), a C1 control and a right-to-left override: what `hearth-agent enroll`
must not print as it is.
"""
import argparse
import http.server
import json
import ssl

HOSTILE = ("refused\x1b]0;pwned\x07\x1b[2J\r\nhearth-agent: enrolled OK\u009b31m"
           "\u202etxt.exe")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        body = json.dumps({"error": HOSTILE, "code": "x\x1b[31m"}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"listening server=127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
