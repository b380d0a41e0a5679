#!/usr/bin/python3
"""Notification sink for the alerting tests: stands in for the mail server (SMTP,
Debian's aiosmtpd) and for PagerDuty and Opsgenie (HTTP) on loopback, and writes
every email to OUT/mail-NNNNNN.json and every HTTP POST to OUT/http-NNNNNN.json.
OUT/ready appears once both listen. Runs until SIGTERM.

  /usr/bin/python3 notification_sink.py --smtp-port P --http-port Q --out DIR
"""
import argparse
import email
import email.policy
import http.server
import json
import os
import signal
import threading

from aiosmtpd.controller import Controller


class Outbox:
    """Numbered JSON files, each written whole (rename) so readers never see half."""

    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.count = 0

    def write(self, prefix, record):
        with self.lock:
            self.count += 1
            name = os.path.join(self.directory, "%s-%06d.json" % (prefix, self.count))
        with open(name + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        os.rename(name + ".tmp", name)


class MailHandler:
    def __init__(self, outbox):
        self.outbox = outbox

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = "".join(
            part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"
        )
        self.outbox.write("mail", {
            "subject": str(message["subject"]),
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "text": text,
        })
        return "250 Message accepted for delivery"


def http_handler(outbox):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8", "replace")
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            outbox.write("http", {"path": self.path, "body": body})
            # Accepted, in the shape PagerDuty's Events API v2 answers.
            reply = b'{"status": "success", "message": "Event processed", "dedup_key": "sink"}'
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, fmt, *args):
            print("http: " + fmt % args, flush=True)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    outbox = Outbox(args.out)
    smtp = Controller(MailHandler(outbox), hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", args.http_port), http_handler(outbox))
    threading.Thread(target=web.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    open(os.path.join(args.out, "ready"), "w").close()
    print("listening: smtp 127.0.0.1:%d, http 127.0.0.1:%d" % (args.smtp_port, args.http_port), flush=True)
    stop.wait()
    web.shutdown()
    smtp.stop()


if __name__ == "__main__":
    main()
