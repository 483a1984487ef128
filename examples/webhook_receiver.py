"""A minimal receiver of Waypoint webhooks that verifies each delivery's signature.

Only the Python standard library. Configure it with environment variables:

    WAYPOINT_WEBHOOK_SECRET   the ``secret`` returned when the subscription was created
    PORT                      where to listen (default 8080)

Waypoint signs ``<Waypoint-Timestamp>.<raw body>`` with HMAC-SHA256 and sends
``Waypoint-Signature: v1=<hex digest>``. A delivery is accepted only if the signature matches
(compared in constant time) and the timestamp is within five minutes; anything else gets 401.
Retries carry the same ``Waypoint-Delivery-Id``: a delivery already accepted is answered 200
again and not processed twice. Each accepted delivery is printed as one JSON line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300
SECRET = os.environ.get("WAYPOINT_WEBHOOK_SECRET", "")
_seen: set[str] = set()
_lock = threading.Lock()


def verified(body: bytes, timestamp: str, signature: str, now: float) -> bool:
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > TOLERANCE_S:
        return False  # too old (or from the future): a replayed request
    expected = "v1=" + hmac.new(SECRET.encode(), f"{sent_at}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verified(body, self.headers.get("Waypoint-Timestamp", ""),
                        self.headers.get("Waypoint-Signature", ""), time.time()):
            self._answer(401)
            return
        delivery = self.headers.get("Waypoint-Delivery-Id", "")
        with _lock:
            first_time = delivery not in _seen
            _seen.add(delivery)
        if first_time:
            payload = json.loads(body)
            print(json.dumps({"delivery_id": delivery, "event_type": self.headers.get("Waypoint-Event-Type"),
                              "payload": payload}, sort_keys=True), flush=True)
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass  # keep stdout for the deliveries


if __name__ == "__main__":
    if not SECRET:
        sys.exit("set WAYPOINT_WEBHOOK_SECRET (the subscription's secret)")
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()
