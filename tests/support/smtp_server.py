"""A real SMTP submission server on loopback for the e-mail plugin's tests.

aiosmtpd, with a certificate from a throwaway CA (trustme):
- one port with STARTTLS required (587-style), one with implicit TLS
  (465-style);
- AUTH PLAIN only after TLS, checked against the user and password given;
- every accepted message written whole to OUT_DIR/NNN.eml, with the
  envelope beside it in NNN.json.

Usage: smtp_server.py OUT_DIR USER PASSWORD
Prints "ready <starttls port> <tls port>" once both listen; the CA is in
OUT_DIR/ca.pem. Runs until stdin closes.
"""

import json
import os
import socket
import ssl
import sys

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out_dir, user, password = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()

ca = trustme.CA()
cert = ca.issue_cert("127.0.0.1", "localhost")
ca.cert_pem.write_to_path(os.path.join(out_dir, "ca.pem"))
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
cert.configure_cert(context)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        base = os.path.join(out_dir, f"{Handler.count:03}")
        with open(base + ".json", "w") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
                    "authenticated": session.authenticated,
                    "login": session.login_data.decode() if session.login_data else None,
                },
                f,
            )
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return f"250 2.0.0 Ok: queued as Q{Handler.count:05}"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user
        and auth_data.password == password
    )
    # `handled=False`: aiosmtpd answers a failure with 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


common = dict(
    hostname="127.0.0.1",
    authenticator=authenticator,
    auth_exclude_mechanism=["LOGIN"],
)
starttls = Controller(
    Handler(),
    port=free_port(),
    tls_context=context,
    require_starttls=True,
    auth_require_tls=True,
    **common,
)
# Implicit TLS: the whole connection is encrypted, but aiosmtpd only counts
# STARTTLS as TLS for `auth_require_tls`, so it is not set here.
implicit = Controller(
    Handler(), port=free_port(), ssl_context=context, auth_require_tls=False, **common
)
starttls.start()
implicit.start()
print(f"ready {starttls.port} {implicit.port}", flush=True)
sys.stdin.read()
starttls.stop()
implicit.stop()
