#!/usr/bin/python3
"""smtp_server.py: a real SMTP server on loopback for e2e_email.sh, built on
Debian's python3-aiosmtpd.  It records what each client did, one JSON line
per event in OUT/events.jsonl, and each accepted message as OUT/msg-N.eml:

  {"event": "connect"}                                   a client connected
  {"event": "starttls_refused"}                          (mode refuse)
  {"event": "auth", "tls": bool, "ok": bool, "user": s}  an AUTH attempt
  {"event": "mail", "tls": bool, "from": s}              MAIL FROM
  {"event": "rcpt", "tls": bool, "to": s}                RCPT TO
  {"event": "data", "tls": bool, "file": "msg-N.eml", "from": s,
   "to": [s], "user": s or null, "accepted": bool}       DATA received

Modes:
  starttls  STARTTLS offered and required before anything else (RFC 3207)
  smtps     implicit TLS on connect
  notls     no STARTTLS offered; AUTH offered in clear (a client that sends
            anything but EHLO/QUIT here has failed open)
  relay     a local relay: no STARTTLS, no AUTH (CERT, USER ignored), as
            a machine's own MTA on loopback (the sink's tls: none)
  refuse    STARTTLS offered, but answered 454 (TLS not available)
  reject    as starttls, but every RCPT is answered 550 (no such user)
  tempfail  as starttls, but the first DATA is answered 451 after the
            whole message arrived (recorded with "accepted": false), as
            when an answer is lost: the client must send it again

Usage: smtp_server.py PORT MODE OUT [CERT KEY] [USER PASSWORD]
Prints "listening" once it accepts connections; runs until killed.
"""
import json
import os
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

PORT, MODE, OUT = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CERT = sys.argv[4] if len(sys.argv) > 5 else None
KEY = sys.argv[5] if len(sys.argv) > 5 else None
USER = sys.argv[6].encode() if len(sys.argv) > 7 else None
PASSWORD = sys.argv[7].encode() if len(sys.argv) > 7 else None
LOCK = threading.Lock()
STARTED = threading.Event()  # the controller's own trigger is not a client
os.makedirs(OUT, exist_ok=True)


def record(ev):
    with LOCK:
        ev["t"] = time.time()
        with open(os.path.join(OUT, "events.jsonl"), "a") as f:
            f.write(json.dumps(ev) + "\n")


def is_tls(server):
    t = server.transport
    return t is not None and t.get_extra_info("ssl_object") is not None


class Handler:
    n = 0
    failed_once = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        record({"event": "mail", "tls": is_tls(server), "from": address})
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        record({"event": "rcpt", "tls": is_tls(server), "to": address})
        if MODE == "reject":
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with LOCK:
            Handler.n += 1
            name = "msg-%d.eml" % Handler.n
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(envelope.original_content)
        user = getattr(session, "tlw_user", None)
        accept = MODE != "tempfail" or Handler.failed_once
        Handler.failed_once = True
        record({"event": "data", "tls": is_tls(server), "file": name,
                "from": envelope.mail_from, "to": envelope.rcpt_tos,
                "user": user, "accepted": accept})
        if not accept:
            return "451 4.3.0 Temporary failure, try again later"
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (USER is not None and getattr(auth_data, "login", None) == USER
          and getattr(auth_data, "password", None) == PASSWORD)
    if ok:
        session.tlw_user = USER.decode()
    record({"event": "auth", "tls": is_tls(server), "ok": ok,
            "mechanism": mechanism,
            "user": getattr(auth_data, "login", b"").decode(errors="replace")})
    # handled=False: aiosmtpd itself answers 535 (by default it says nothing)
    return AuthResult(success=ok, handled=False)


class Recording(SMTP):
    def connection_made(self, transport):
        if self.transport is None and STARTED.is_set():
            record({"event": "connect"})
        super().connection_made(transport)


class RefuseTLS(Recording):
    async def smtp_STARTTLS(self, arg):
        record({"event": "starttls_refused"})
        await self.push("454 4.7.0 TLS not available due to temporary reason")


class Ctl(Controller):
    def __init__(self, cls, *a, **kw):
        self.cls = cls
        super().__init__(*a, **kw)

    def factory(self):
        return self.cls(self.handler, **self.SMTP_kwargs)


def main():
    ctx = None
    if CERT is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT, KEY)
    kw = {}
    if USER is not None and MODE != "relay":
        # implicit TLS is TLS too, though aiosmtpd counts only STARTTLS
        kw = {"authenticator": authenticator, "auth_required": True,
              "auth_require_tls": MODE not in ("notls", "smtps")}
    if MODE in ("starttls", "tempfail", "reject"):
        c = Ctl(Recording, Handler(), hostname="127.0.0.1", port=PORT,
                tls_context=ctx, require_starttls=True, **kw)
    elif MODE == "smtps":
        c = Ctl(Recording, Handler(), hostname="127.0.0.1", port=PORT,
                ssl_context=ctx, **kw)
    elif MODE in ("notls", "relay"):
        c = Ctl(Recording, Handler(), hostname="127.0.0.1", port=PORT, **kw)
    elif MODE == "refuse":
        c = Ctl(RefuseTLS, Handler(), hostname="127.0.0.1", port=PORT,
                tls_context=ctx, **kw)
    else:
        sys.exit("unknown mode " + MODE)
    c.start()
    STARTED.set()
    print("listening", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    main()
