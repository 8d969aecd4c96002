"""CPython 3.11 asyncore with ssl as a benchmark row: a TLS echo server written the way
test_ftplib's SSLConnection is (handshake driven from handle_read_event/handle_write_event,
send/recv mapping the want-errors, pending() drained).

    python3.11 asyncore_tls_server.py CERT KEY     (prints "PORT <n>")
"""
import signal
import ssl
import sys
import warnings

warnings.simplefilter('ignore', DeprecationWarning)
import asyncore  # noqa: E402

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
CTX.load_cert_chain(sys.argv[1], sys.argv[2])
WANT = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


class TLSEcho(asyncore.dispatcher_with_send):

    def __init__(self, sock):
        asyncore.dispatcher_with_send.__init__(self, sock)
        self.socket = CTX.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.handshaking = True
        self.want_write = False

    def do_handshake(self):
        try:
            self.socket.do_handshake()
        except ssl.SSLWantReadError:
            self.want_write = False
            return
        except ssl.SSLWantWriteError:
            self.want_write = True
            return
        except (ssl.SSLError, OSError):
            self.handle_close()
            return
        self.handshaking = False

    def readable(self):
        return not (self.handshaking and self.want_write)

    def writable(self):
        if self.handshaking:
            return self.want_write
        return asyncore.dispatcher_with_send.writable(self)

    def handle_read_event(self):
        if self.handshaking:
            self.do_handshake()
        else:
            asyncore.dispatcher_with_send.handle_read_event(self)

    def handle_write_event(self):
        if self.handshaking:
            self.do_handshake()
        else:
            asyncore.dispatcher_with_send.handle_write_event(self)

    def send(self, data):
        try:
            return asyncore.dispatcher_with_send.send(self, data)
        except WANT:
            return 0

    def recv(self, n):
        try:
            return asyncore.dispatcher_with_send.recv(self, n)
        except WANT:
            return None

    def handle_read(self):
        while True:
            data = self.recv(65536)
            if data:
                self.send(data)
            if not self.connected or self.socket.pending() == 0:
                return

    def handle_error(self):
        self.handle_close()


class Server(asyncore.dispatcher):

    def __init__(self):
        asyncore.dispatcher.__init__(self)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(('127.0.0.1', 0))
        self.listen(1024)

    def handle_accepted(self, sock, addr):
        TLSEcho(sock)


server = Server()
print('PORT', server.socket.getsockname()[1], flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
asyncore.loop(timeout=1, use_poll=True)
