"""EMAIL_URL (issue 10.2): every scheme django-environ documents becomes a working Django 6.1 mailer,
and SMTP never waits for ever on a server that does not answer."""

import base64
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from hydrospark.mailers import mailer_from_url

BASE = Path("/srv/hydrospark")


def mailer(url: str, timeout: float = 20) -> dict:
    return mailer_from_url(url, timeout=timeout, base_dir=BASE, default_dir=BASE / "var" / "mail")


def send_with(entry: dict) -> int:
    """Send one message through the mailer an entry configures, as the site does (mail.mailers)."""
    with override_settings(MAILERS={"default": entry}):
        message = mail.EmailMessage("Your bill", "Amount due: $42.00", "billing@hydrospark.com", ["noah@example.com"])
        return mail.mailers.default.send_messages([message])


class FakeSMTP(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 to accept one message; what it received is kept on the server."""

    def handle(self):
        self.wfile.write(b"220 fake ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-fake\r\n250 AUTH PLAIN\r\n")
            elif verb == b"AUTH":
                self.server.logins.append(base64.b64decode(line.split()[-1]).split(b"\0")[1:])
                self.wfile.write(b"235 authenticated\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                body = b"".join(iter(self.rfile.readline, b".\r\n"))
                self.server.received.append(body.decode())
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a handler still reading never holds the test run at teardown
    block_on_close = False


@pytest.fixture
def smtp_server():
    server = Server(("127.0.0.1", 0), FakeSMTP)
    server.received, server.logins = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server():
    """Accepts connections and never says a word (issue 11.1's hung SMTP server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener.getsockname()[1]
    listener.close()


def test_smtp_with_credentials_sends_through_the_server(smtp_server):
    port = smtp_server.server_address[1]
    entry = mailer(f"smtp://user:p%40ss@127.0.0.1:{port}")
    assert entry["OPTIONS"] == {
        "host": "127.0.0.1",
        "port": port,
        "username": "user",
        "password": "p@ss",
        "timeout": 20,
    }
    assert send_with(entry) == 1
    assert smtp_server.logins == [[b"user", b"p@ss"]]
    assert "Amount due: $42.00" in smtp_server.received[0]


def test_smtp_tls_uses_starttls_on_the_submission_port():
    entry = mailer("smtp+tls://user:secret@mail.example.com")
    assert entry["OPTIONS"]["use_tls"] is True
    with override_settings(MAILERS={"default": entry}):
        backend = mail.mailers.default
    assert (backend.use_tls, backend.use_ssl, backend.port) == (True, False, 587)


def test_smtp_ssl_uses_implicit_tls_on_port_465():
    entry = mailer("smtp+ssl://user:secret@mail.example.com")
    with override_settings(MAILERS={"default": entry}):
        backend = mail.mailers.default
    assert (backend.use_tls, backend.use_ssl, backend.port) == (False, True, 465)


def test_filemail_writes_messages_into_the_directory_of_the_url(tmp_path):
    entry = mailer(f"filemail://{tmp_path}/outbox")
    assert entry["OPTIONS"] == {"file_path": f"{tmp_path}/outbox"}
    assert send_with(entry) == 1
    (written,) = (tmp_path / "outbox").iterdir()
    assert "Amount due: $42.00" in written.read_text()


def test_filemail_paths_without_a_leading_slash_are_the_projects_and_none_is_the_default():
    assert mailer("filemail://var/outbox")["OPTIONS"]["file_path"] == str(BASE / "var" / "outbox")
    assert mailer("filemail://")["OPTIONS"]["file_path"] == str(BASE / "var" / "mail")


def test_consolemail_prints_the_message(capsys):
    assert mailer("consolemail://") == {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    assert send_with(mailer("consolemail://")) == 1
    assert "Amount due: $42.00" in capsys.readouterr().out


def test_memorymail_keeps_the_message_in_the_outbox():
    assert send_with(mailer("memorymail://")) == 1
    assert mail.outbox[-1].subject == "Your bill"


def test_dummymail_accepts_and_drops_the_message():
    assert mailer("dummymail://") == {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    assert send_with(mailer("dummymail://")) == 1


def test_an_unknown_scheme_or_a_missing_host_is_a_clear_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="scheme must be one of"):
        mailer("sendgrid://user:secret@api")
    with pytest.raises(ImproperlyConfigured, match="no SMTP host"):
        mailer("smtp://")
    with pytest.raises(ImproperlyConfigured, match="unknown"):
        mailer("smtp://mail.example.com?retries=3")


def test_the_url_can_set_its_own_timeout():
    assert mailer("smtp://mail.example.com?timeout=5", timeout=20)["OPTIONS"]["timeout"] == 5.0


def test_an_smtp_server_that_never_answers_fails_after_the_timeout(silent_server):
    entry = mailer(f"smtp://127.0.0.1:{silent_server}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises((TimeoutError, OSError)):
        send_with(entry)
    assert time.monotonic() - started < 5


def test_the_site_gives_smtp_a_timeout_by_default(settings):
    from hydrospark import settings as site_settings

    assert site_settings.MAIL_TIMEOUT == 20
    assert site_settings._mailer("smtp://mail.example.com")["OPTIONS"]["timeout"] == 20


def test_the_site_sends_to_a_filemail_url_from_the_environment(tmp_path):
    """The reported failure: EMAIL_URL=filemail:///path made every send raise "OPTIONS must define 'file_path'"."""
    snippet = (
        "import django; django.setup(); from django.core.mail import send_mail; "
        "print(send_mail('Your bill', 'Amount due', 'billing@hydrospark.com', ['noah@example.com']))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "EMAIL_URL")}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "hydrospark.settings",
        "DEBUG": "1",
        "EMAIL_URL": f"filemail://{tmp_path}",
    }
    result = subprocess.run([sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "1", result.stderr
    assert len(list(tmp_path.iterdir())) == 1
