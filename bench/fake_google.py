#!/usr/bin/env python3
"""A fake Google (and a fake JSON API) on loopback for bench/poll.sh. Python 3 stdlib only.

Speaks just enough of each API's documented JSON for `trmctl poll`:

  POST /token                                   OAuth refresh_token grant (client id/secret in
                                                the form or in Basic auth)
  GET  /gmail/v1/users/me/profile               emailAddress, messagesTotal, historyId
  GET  /gmail/v1/users/me/messages              messages.list: maxResults (<= 500),
                                                pageToken (an offset), nextPageToken; newest first
  GET  /gmail/v1/users/me/messages/ID           messages.get format=metadata: payload.headers,
                                                internalDate, labelIds, snippet, historyId
  GET  /gmail/v1/users/me/history               history.list (historyTypes=messageAdded)
  GET  /drive/v3/files/ID                       files.get fields=version,modifiedTime (Sheets check)
  GET  /v4/spreadsheets/ID/values/RANGE         values.get
  GET  /drive/v3/changes/startPageToken         changes.getStartPageToken
  GET  /drive/v3/changes                        changes.list (nothing changes)
  GET  /calendar/v3/calendars/ID/events         events.list, nextSyncToken / syncToken
  GET  /crm/K/contacts                          an http-poll API with ETag / If-None-Match (304)
  GET  /_stats                                  counters, as JSON (not counted itself)

The mailbox has --messages messages, generated from their index (nothing is held per message,
so the fake's memory does not grow with the mailbox). Google endpoints need the bearer token
/token issued; /crm needs `Bearer $BENCH_CRM_TOKEN`. Every request is counted per endpoint;
/token requests are counted apart, so `requests` is what the API side saw.

Usage: fake_google.py --messages N --port-file PATH   (binds 127.0.0.1 on a free port, writes
the port to PATH, serves until killed).
"""

import argparse
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

EMAIL = "founder@example.com"
EPOCH_MS = 1_764_000_000_000  # internalDate of message 0
ID_BASE = 0x18C0000000000000  # message ids: 16 hex digits, as Gmail's look
HISTORY_BASE = 1000
ACCESS_PREFIX = "ya29.bench-"
PAGE_MAX = 500
DRIVE_START_TOKEN = "1000"
CALENDAR_SYNC_TOKEN = "bench-sync-1"


class State:
    def __init__(self, messages, client_id, client_secret, refresh_token, crm_token):
        self.messages = messages
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.crm_token = crm_token
        self.lock = threading.Lock()
        self.requests = 0  # everything but /token and /_stats
        self.token_requests = 0
        self.by_endpoint = {}
        self.by_status = {}
        self.issued = 0
        self.started = time.time()

    def count(self, endpoint, status):
        with self.lock:
            if endpoint == "token":
                self.token_requests += 1
            else:
                self.requests += 1
            self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1
            key = str(status) if endpoint != "token" else f"token:{status}"
            self.by_status[key] = self.by_status.get(key, 0) + 1

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "tokenRequests": self.token_requests,
                "byEndpoint": dict(self.by_endpoint),
                "byStatus": dict(self.by_status),
                "messages": self.messages,
                "pid": os.getpid(),
                "uptime": round(time.time() - self.started, 3),
            }

    def history_id(self):
        """The mailbox's current history id: after the last message's."""
        return HISTORY_BASE + 3 * self.messages


def message_id(index):
    return f"{ID_BASE + index:016x}"


def message_index(mid, total):
    try:
        index = int(mid, 16) - ID_BASE
    except ValueError:
        return None
    return index if 0 <= index < total and len(mid) == 16 else None


def dumps(value):
    return json.dumps(value, separators=(",", ":")).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: trmctl reuses its connections
    disable_nagle_algorithm = True  # headers and body are two writes
    server_version = "fake-google/1"
    sys_version = ""

    def log_message(self, *args):  # quiet
        pass

    # --- plumbing ---------------------------------------------------------------------------

    def send(self, endpoint, status, body=None, headers=()):
        data = b"" if body is None else (body if isinstance(body, bytes) else dumps(body))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 304 and data:
            self.wfile.write(data)
        if endpoint is not None:
            self.server.state.count(endpoint, status)

    def google_error(self, endpoint, status, message, reason="badRequest"):
        self.send(endpoint, status, {"error": {
            "code": status, "message": message,
            "errors": [{"reason": reason, "message": message}]}})

    def authorized_google(self, endpoint):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer " + ACCESS_PREFIX):
            return True
        self.google_error(endpoint, 401, "Invalid Credentials", "authError")
        return False

    # --- routing ----------------------------------------------------------------------------

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = urlsplit(self.path).path
        if path != "/token":
            self.send("other", 404, {"error": "not_found"})
            return
        self.token(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        segs = [unquote(s) for s in url.path.split("/")[1:]]
        q = lambda k, d=None: query.get(k, [d])[0]  # noqa: E731
        st = self.server.state
        if segs == ["_stats"]:
            self.send(None, 200, st.snapshot())
        elif segs[:4] == ["gmail", "v1", "users", "me"] and len(segs) >= 5:
            rest = segs[4:]
            if rest == ["profile"]:
                self.gmail_profile()
            elif rest == ["messages"]:
                self.gmail_list(q)
            elif len(rest) == 2 and rest[0] == "messages":
                self.gmail_get(rest[1], query)
            elif rest == ["history"]:
                self.gmail_history(q)
            else:
                self.google_error("other", 404, "Not Found", "notFound")
        elif segs == ["drive", "v3", "changes", "startPageToken"]:
            if self.authorized_google("drive.startPageToken"):
                self.send("drive.startPageToken", 200,
                          {"kind": "drive#startPageToken", "startPageToken": DRIVE_START_TOKEN})
        elif segs == ["drive", "v3", "changes"]:
            self.drive_changes(q)
        elif len(segs) == 4 and segs[:3] == ["drive", "v3", "files"]:
            if self.authorized_google("drive.files.get"):
                self.send("drive.files.get", 200, {
                    "version": "42", "modifiedTime": "2025-11-24T10:00:00.000Z"})
        elif len(segs) == 5 and segs[:2] == ["v4", "spreadsheets"] and segs[3] == "values":
            self.sheets_values(segs[4])
        elif len(segs) == 5 and segs[:3] == ["calendar", "v3", "calendars"] and segs[4] == "events":
            self.calendar_events(segs[3], q)
        elif len(segs) == 3 and segs[0] == "crm" and segs[2] == "contacts":
            self.crm(segs[1])
        else:
            self.send("other", 404, {"error": "not found"})

    # --- OAuth ------------------------------------------------------------------------------

    def token(self, form):
        st = self.server.state
        get = lambda k: form.get(k, [""])[0]  # noqa: E731
        cid, secret = get("client_id"), get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                cid, secret = unquote(user), unquote(pw)
            except ValueError:
                pass
        if cid != st.client_id or secret != st.client_secret:
            self.send("token", 401, {"error": "invalid_client"})
            return
        if get("grant_type") != "refresh_token":
            self.send("token", 400, {"error": "unsupported_grant_type"})
            return
        if get("refresh_token") != st.refresh_token:
            self.send("token", 400, {"error": "invalid_grant"})
            return
        with st.lock:
            st.issued += 1
            n = st.issued
        self.send("token", 200, {"access_token": f"{ACCESS_PREFIX}{n}", "expires_in": 3600,
                                 "token_type": "Bearer"})

    # --- Gmail ------------------------------------------------------------------------------

    def gmail_profile(self):
        if not self.authorized_google("gmail.profile"):
            return
        st = self.server.state
        self.send("gmail.profile", 200, {
            "emailAddress": EMAIL, "messagesTotal": st.messages,
            "threadsTotal": st.messages, "historyId": str(st.history_id())})

    def gmail_list(self, q):
        if not self.authorized_google("gmail.messages.list"):
            return
        total = self.server.state.messages
        try:
            size = min(int(q("maxResults", "100")), PAGE_MAX)
            offset = int(q("pageToken", "0"))
        except ValueError:
            self.google_error("gmail.messages.list", 400, "Invalid pageToken or maxResults")
            return
        if size < 1 or offset < 0:
            self.google_error("gmail.messages.list", 400, "Invalid pageToken or maxResults")
            return
        # (`q` is not evaluated: every message matches.) Newest first, as Gmail lists.
        end = min(offset + size, total)
        page = []
        for k in range(offset, end):
            mid = message_id(total - 1 - k)
            page.append({"id": mid, "threadId": mid})
        body = {"resultSizeEstimate": total}
        if page:
            body["messages"] = page
        if end < total:
            body["nextPageToken"] = str(end)
        self.send("gmail.messages.list", 200, body)

    def gmail_get(self, mid, query):
        endpoint = "gmail.messages.get"
        if not self.authorized_google(endpoint):
            return
        if query.get("format") != ["metadata"]:
            self.google_error(endpoint, 400, "this fake answers format=metadata only")
            return
        index = message_index(mid, self.server.state.messages)
        if index is None:
            self.google_error(endpoint, 404, "Requested entity was not found.", "notFound")
            return
        wanted = set(query.get("metadataHeaders", [])) or {"From", "To", "Subject", "Date"}
        ms = EPOCH_MS + index * 60_000
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ms // 1000))
        headers = [
            {"name": "From", "value": f"Sender {index % 977} <sender{index % 977}@example.com>"},
            {"name": "To", "value": EMAIL},
            {"name": "Subject", "value": f"Benchmark message {index}: status update"},
            {"name": "Date", "value": date},
        ]
        self.send(endpoint, 200, {
            "id": mid,
            "threadId": mid,
            "labelIds": ["INBOX", "UNREAD"] if index % 3 else ["INBOX"],
            "snippet": f"Hi, it&#39;s message {index} &amp; this is its snippet text",
            "historyId": str(HISTORY_BASE + 3 * index + 1),
            "internalDate": str(ms),
            "sizeEstimate": 2048 + index % 1000,
            "payload": {"partId": "", "mimeType": "multipart/alternative", "filename": "",
                        "headers": [h for h in headers if h["name"] in wanted]},
        })

    def gmail_history(self, q):
        endpoint = "gmail.history.list"
        if not self.authorized_google(endpoint):
            return
        st = self.server.state
        try:
            start = int(q("startHistoryId", ""))
            offset = int(q("pageToken", "0"))
            size = min(int(q("maxResults", "100")), PAGE_MAX)
        except ValueError:
            self.google_error(endpoint, 400, "Invalid startHistoryId or pageToken")
            return
        if q("historyTypes") != "messageAdded":
            self.google_error(endpoint, 400, "expected historyTypes=messageAdded")
            return
        if start < HISTORY_BASE:
            self.google_error(endpoint, 404, "Requested entity was not found.", "notFound")
            return
        # Messages added after `start`: those whose history id is larger.
        first = max(0, (start - HISTORY_BASE) // 3)
        while first < st.messages and HISTORY_BASE + 3 * first + 1 <= start:
            first += 1
        lo, hi = first + offset, min(first + offset + size, st.messages)
        body = {"historyId": str(st.history_id())}
        if lo < hi:
            body["history"] = [{
                "id": str(HISTORY_BASE + 3 * i + 1),
                "messages": [{"id": message_id(i), "threadId": message_id(i)}],
                "messagesAdded": [{"message": {"id": message_id(i), "threadId": message_id(i),
                                               "labelIds": ["INBOX"]}}],
            } for i in range(lo, hi)]
        if hi < st.messages:
            body["nextPageToken"] = str(offset + size)
        self.send(endpoint, 200, body)

    # --- Drive, Sheets, Calendar ------------------------------------------------------------

    def drive_changes(self, q):
        endpoint = "drive.changes.list"
        if not self.authorized_google(endpoint):
            return
        if q("pageToken") != DRIVE_START_TOKEN:
            self.google_error(endpoint, 400, "Invalid pageToken")
            return
        self.send(endpoint, 200, {"kind": "drive#changeList",
                                  "newStartPageToken": DRIVE_START_TOKEN, "changes": []})

    def sheets_values(self, range_):
        endpoint = "sheets.values.get"
        if not self.authorized_google(endpoint):
            return
        rows = [["Project ID", "Name", "Owner", "Status"]]
        rows += [[f"P{i}", f"Project {i}", f"owner{i}@example.com", "active"] for i in range(1, 21)]
        self.send(endpoint, 200, {"range": range_, "majorDimension": "ROWS", "values": rows})

    def calendar_events(self, calendar, q):
        endpoint = "calendar.events.list"
        if not self.authorized_google(endpoint):
            return
        sync = q("syncToken")
        if sync is not None and sync != CALENDAR_SYNC_TOKEN:
            self.google_error(endpoint, 410, "Sync token is no longer valid", "fullSyncRequired")
            return
        items = []
        if sync is None:
            items = [{
                "id": f"evt{i}", "status": "confirmed", "summary": f"Meeting {i}",
                "updated": "2025-11-24T10:00:00.000Z", "htmlLink": f"https://calendar/evt{i}",
                "start": {"dateTime": f"2025-11-{25 + i}T10:00:00Z"},
                "end": {"dateTime": f"2025-11-{25 + i}T11:00:00Z"},
                "organizer": {"email": EMAIL},
            } for i in range(3)]
        self.send(endpoint, 200, {"kind": "calendar#events", "summary": calendar,
                                  "items": items, "nextSyncToken": CALENDAR_SYNC_TOKEN})

    # --- http-poll --------------------------------------------------------------------------

    def crm(self, k):
        endpoint = "crm.contacts"
        if self.headers.get("Authorization") != "Bearer " + self.server.state.crm_token:
            self.send(endpoint, 401, {"error": "unauthorized"})
            return
        etag = f'"crm{k}-v1"'
        if self.headers.get("If-None-Match") == etag:
            self.send(endpoint, 304, headers=[("ETag", etag)])
            return
        data = [{"id": i, "name": f"Contact {k}-{i}", "updatedAt": f"2025-11-24T10:0{i}:00Z"}
                for i in range(1, 6)]
        self.send(endpoint, 200, {"data": data}, headers=[("ETag", etag)])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=0, help="messages in the mailbox")
    ap.add_argument("--port-file", required=True, help="where to write the bound port")
    args = ap.parse_args()
    env = os.environ
    state = State(
        messages=max(0, args.messages),
        client_id=env.get("BENCH_CLIENT_ID", "bench-client.apps.googleusercontent.com"),
        client_secret=env["BENCH_CLIENT_SECRET"],
        refresh_token=env["BENCH_REFRESH_TOKEN"],
        crm_token=env["BENCH_CRM_TOKEN"],
    )
    server = Server(("127.0.0.1", 0), Handler)
    server.state = state
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
