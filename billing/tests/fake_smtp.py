"""A small SMTP server on 127.0.0.1 for delivery tests: it accepts mail, refuses every recipient, or accepts
the connection and never says a word (the server that hung send_bills in issue 11)."""

import socket
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        if server.mode == "silent":
            server.stop.wait(30)  # holds the connection open, answering nothing
            return
        self._reply("220 fake.smtp ESMTP")
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 fake.smtp")
            elif verb == "RCPT" and server.mode == "refuse":
                self._reply("550 5.1.1 No such user here")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                self._read_message()
                self._reply("250 2.0.0 Ok: queued")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("250 Ok")

    def _read_message(self):
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line)
        self.server.messages.append(b"".join(lines))

    def _reply(self, text: str):
        self.wfile.write(text.encode() + b"\r\n")


class FakeSMTP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode, self.messages, self.stop = mode, [], threading.Event()
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self):
        self.stop.set()
        self.shutdown()
        self.server_close()


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
