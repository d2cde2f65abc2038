#!/usr/bin/python3
"""A local HTTP server for tests/cli/test_lists_fetch.sh: serves the files
of one directory the way a list publisher or a broken proxy would.

  /ok/NAME      200 with ETag and Last-Modified; 304 to a matching
                If-None-Match or If-Modified-Since
  /trunc/NAME   announces the whole length, sends half, closes
  /e500/NAME    500 Internal Server Error
  /html/NAME    200 with an HTML error page
  /ofac/NAME    as /ok/, the name upper-cased (SDN.CSV is sdn.csv)

Usage: fetch_server.py DIR PORT_FILE LOG_FILE LAST_MODIFIED_EPOCH
Writes the port it listens on (127.0.0.1, chosen by the system) to
PORT_FILE; each request's path and conditional headers to LOG_FILE.
"""
import email.utils
import hashlib
import http.server
import os
import sys

ROOT, PORT_FILE, LOG_FILE, MTIME = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        with open(LOG_FILE, "a") as log:
            log.write("%s inm=%s ims=%s\n" % (self.path, self.headers.get("If-None-Match", "-"),
                                              self.headers.get("If-Modified-Since", "-")))
        parts = self.path.split("/")
        if len(parts) != 3:
            return self.answer(404, b"not found\n")
        mode, name = parts[1], parts[2]
        if mode == "ofac":
            name = name.lower()
        path = os.path.join(ROOT, name)
        if not os.path.isfile(path):
            return self.answer(404, b"not found\n")
        body = open(path, "rb").read()
        if mode == "e500":
            return self.answer(500, b"internal error\n")
        if mode == "html":
            return self.answer(200, b"<!DOCTYPE html>\n<html><body><h1>Service Unavailable</h1>"
                                    b"</body></html>\n", "text/html; charset=utf-8")
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        modified = email.utils.formatdate(MTIME, usegmt=True)
        if mode in ("ok", "ofac"):
            if self.headers.get("If-None-Match") == etag or (
                    not self.headers.get("If-None-Match")
                    and self.headers.get("If-Modified-Since") == modified):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            return self.answer(200, body, "text/csv", etag, modified)
        if mode == "trunc":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        return self.answer(404, b"not found\n")

    def answer(self, code, body, ctype="text/plain", etag=None, modified=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        if modified:
            self.send_header("Last-Modified", modified)
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
