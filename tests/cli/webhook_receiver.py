#!/usr/bin/env python3
"""A webhook receiver for test_webhook.sh: listens on 127.0.0.1, an
ephemeral port written to PORTFILE; appends each POST as one JSON line
{"headers": {...}, "body": "..."} to LOG; answers 500 to the first
request when FAIL_FIRST=1 (to exercise the retry), 204 otherwise; with
DELAY=SECONDS, answers each request that long after logging it (so that
two senders are sure to overlap). Requests are served in threads."""
import http.server
import json
import os
import sys
import threading
import time

port_file, log_file = sys.argv[1], sys.argv[2]
fail_first = os.environ.get("FAIL_FIRST") == "1"
delay = float(os.environ.get("DELAY", "0"))
seen = [0]
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8")
        with lock:
            with open(log_file, "a", encoding="utf-8") as f:
                f.write(json.dumps({"headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body}) + "\n")
            seen[0] += 1
            first = seen[0] == 1
        time.sleep(delay)
        self.send_response(500 if fail_first and first else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
with open(port_file + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
