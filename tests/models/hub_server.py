#!/usr/bin/env python3
"""hub_server.py - a stand-in for the Hugging Face hub on 127.0.0.1, for the model manager's tests.

Serves model folders in the hub's URL layout, with the hub's headers (Python's http.server does the HTTP):
  GET /{owner}/{name}/resolve/{revision}/{file}
    - *.safetensors is an LFS file, as on the hub: 302 to /lfs/{sha256} with X-Linked-Etag (its SHA-256, quoted),
      X-Linked-Size, X-Repo-Commit and ETag;
    - any other file: 200 with its bytes, X-Repo-Commit and its git blob ETag;
    - an unknown repository: 401 (X-Error-Code: RepoNotFound); an unknown revision or file: 404.
    Revisions: "main" and the repository's commit (40 hex digits: given with --commit, else made from its name).
  GET /lfs/{sha256}: the bytes, with Range (206 + Content-Range; 416 + "bytes */SIZE" past the end).
A request whose target is an absolute URL (what a client sends to an HTTP proxy) is served the same way and logged
as proxied, so a test can check that libcurl follows http_proxy.

Failure modes for the tests: the file STATE/mode holds "MODE [anything]", read at every request; "once" modes
re-arm whenever the file's content changes (add a counter to re-arm the same mode).
  normal       as above
  cut-once     the first /lfs transfer sends half of its bytes, then closes the connection
  cut-always   every /lfs transfer sends half of what was asked, then closes
  stall-once   the first /lfs transfer sends half, then nothing (until the client gives up)
  corrupt      /lfs sends the file with one byte changed in the middle (the headers announce the right hash)
  no-etag      the resolve answer has no X-Linked-Etag and no hash in its ETag
  no-length    /lfs has no Content-Length (the body ends when the connection closes), resolve no X-Linked-Size
  no-range     /lfs ignores Range: always 200 with the whole file
  slow         /lfs sends 4 KiB every 20 ms
  error-once   the first resolve request gets 503
  odd-message  every resolve request gets 404 with an X-Error-Message of bytes that are not UTF-8 (0xFF 0xFE) and a
               terminal escape (ESC [31m): what a broken or hostile server may send
Every request is appended to STATE/requests.log: "METHOD PATH range=RANGE proxied=0|1".

Usage: hub_server.py --state DIR --repo OWNER/NAME=FOLDER [--repo ...] [--commit OWNER/NAME=HEX40 ...]
                     [--tls CERT KEY]   (HTTPS with that certificate; the redirects say https too)
Writes the port to STATE/port once it listens; runs until killed.
"""
import argparse
import hashlib
import http.server
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse


class Hub:
    def __init__(self, state, repos, commits):
        self.state = state
        self.repos = {}  # "owner/name" -> {"commit": hex, "files": {name: bytes}}
        self.blobs = {}  # sha256 -> bytes
        for repo, folder in repos.items():
            files = {}
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        files[name] = f.read()
            commit = commits.get(repo) or hashlib.sha1(("commit of " + repo).encode()).hexdigest()
            self.repos[repo] = {"commit": commit, "files": files}
            for name, data in files.items():
                self.blobs[hashlib.sha256(data).hexdigest()] = data
        self.lock = threading.Lock()
        self.mode_text = None
        self.fired = set()

    def mode(self):
        try:
            with open(os.path.join(self.state, "mode")) as f:
                text = f.read().strip()
        except OSError:
            text = ""
        with self.lock:
            if text != self.mode_text:
                self.mode_text = text
                self.fired = set()
        return text.split()[0] if text else "normal"

    def once(self, what):
        """True the first time `what` is asked for under the current mode file."""
        with self.lock:
            if what in self.fired:
                return False
            self.fired.add(what)
            return True

    def log(self, line):
        with self.lock:
            with open(os.path.join(self.state, "requests.log"), "a") as f:
                f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub = None  # set in main
    scheme = "http"

    def log_message(self, fmt, *args):  # the request log is ours; stderr stays quiet
        pass

    def do_HEAD(self):
        self.handle_request(head=True)

    def do_GET(self):
        self.handle_request(head=False)

    def handle_request(self, head):
        target = self.path
        proxied = target.startswith("http://") or target.startswith("https://")
        path = urllib.parse.urlsplit(target).path if proxied else target.split("?", 1)[0]
        self.hub.log("%s %s range=%s proxied=%d" % (self.command, path, self.headers.get("Range", "-"), proxied))
        mode = self.hub.mode()
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            return self.resolve(urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2)),
                                urllib.parse.unquote(m.group(3)), mode, head)
        m = re.fullmatch(r"/lfs/([0-9a-f]{64})", path)
        if m and m.group(1) in self.hub.blobs:
            return self.lfs(self.hub.blobs[m.group(1)], mode, head)
        self.plain(404, b"not found\n", {"X-Error-Code": "EntryNotFound"}, head)

    def plain(self, code, body, headers, head):
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def resolve(self, repo, revision, name, mode, head):
        entry = self.hub.repos.get(repo)
        if entry is None:
            return self.plain(401, b"Repository not found\n", {"X-Error-Code": "RepoNotFound",
                                                                "X-Error-Message": "Repository not found"}, head)
        if revision not in ("main", entry["commit"]):
            return self.plain(404, b"Revision not found\n", {"X-Error-Code": "RevisionNotFound",
                                                              "X-Error-Message": "Invalid rev id: " + revision}, head)
        data = entry["files"].get(name)
        if data is None:
            return self.plain(404, b"Entry not found\n", {"X-Error-Code": "EntryNotFound",
                                                           "X-Error-Message": "Entry not found"}, head)
        if mode == "odd-message":  # http.server sends header text as Latin-1: "\xff" goes out as the byte 0xFF
            return self.plain(404, b"Entry not found\n", {"X-Error-Code": "EntryNotFound",
                                                           "X-Error-Message": "Entry \xff\xfe not \x1b[31mfound"}, head)
        if mode == "error-once" and self.hub.once("resolve-503"):
            return self.plain(503, b"busy\n", {}, head)
        headers = {"X-Repo-Commit": entry["commit"]}
        if name.endswith(".safetensors"):
            sha = hashlib.sha256(data).hexdigest()
            host = self.headers.get("Host", "127.0.0.1")
            headers["Location"] = "%s://%s/lfs/%s" % (self.scheme, host, sha)
            if mode == "no-etag":
                headers["ETag"] = '"%s"' % hashlib.sha1(data).hexdigest()
            else:
                headers["X-Linked-Etag"] = '"%s"' % sha
                headers["ETag"] = '"%s"' % sha
            if mode != "no-length":
                headers["X-Linked-Size"] = str(len(data))
            return self.plain(302, b"", headers, head)
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        headers["ETag"] = '"%s"' % blob
        headers["Content-Type"] = "application/json" if name.endswith(".json") else "application/octet-stream"
        self.plain(200, data, headers, head)

    def lfs(self, data, mode, head):
        size = len(data)
        if mode == "corrupt":
            data = bytearray(data)
            data[size // 2] ^= 0x5A
            data = bytes(data)
        start, end = 0, size - 1
        ranged = False
        asked = self.headers.get("Range")
        if asked and mode != "no-range":
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", asked.strip())
            if m:
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                ranged = True
                if start >= size:
                    return self.plain(416, b"", {"Content-Range": "bytes */%d" % size}, head)
        body = data[start:end + 1]
        self.send_response(206 if ranged else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        if ranged:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        if mode == "no-length":
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        cut = mode == "cut-always" or (mode in ("cut-once", "stall-once") and self.hub.once("lfs-" + mode))
        if cut:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            if mode == "stall-once":
                time.sleep(30)  # the client gives up long before; then this thread ends
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if mode == "slow":
            for i in range(0, len(body), 4096):
                self.wfile.write(body[i:i + 4096])
                self.wfile.flush()
                time.sleep(0.02)
            return
        self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", required=True)
    parser.add_argument("--repo", action="append", default=[], help="OWNER/NAME=FOLDER")
    parser.add_argument("--commit", action="append", default=[], help="OWNER/NAME=HEX40")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    repos = dict(spec.partition("=")[::2] for spec in args.repo)
    commits = dict(spec.partition("=")[::2] for spec in args.commit)
    Handler.hub = Hub(args.state, repos, commits)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        Handler.scheme = "https"
    port_file = os.path.join(args.state, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(port_file + ".tmp", port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
