"""CPython 3.11 asyncore as a benchmark row: the asyncore documentation's echo server, or the
asynchat documentation's line-collecting pattern as a line echo.

    python3.11 asyncore_server.py [--poller select|poll] [--mode echo|chat] [--backlog 1024]

Same two deliberate differences from the documentation's program as the TypeScript server
(bench/servers/asyncore-server.ts): 127.0.0.1 port 0 with a large listen backlog, and no line
printed per accepted connection. Prints "PORT <n>" once listening.
"""
import argparse
import sys
import warnings

warnings.simplefilter('ignore', DeprecationWarning)
import asyncore  # noqa: E402
import asynchat  # noqa: E402


class EchoHandler(asyncore.dispatcher_with_send):

    def handle_read(self):
        data = self.recv(8192)
        if data:
            self.send(data)


class LineEcho(asynchat.async_chat):

    def __init__(self, sock):
        asynchat.async_chat.__init__(self, sock)
        self.set_terminator(b'\n')
        self.ibuffer = []

    def collect_incoming_data(self, data):
        self.ibuffer.append(data)

    def found_terminator(self):
        self.ibuffer.append(b'\n')
        self.push(b''.join(self.ibuffer))
        self.ibuffer = []


class Server(asyncore.dispatcher):

    def __init__(self, backlog, handler):
        asyncore.dispatcher.__init__(self)
        self.handler = handler
        self.create_socket()
        self.set_reuse_addr()
        self.bind(('127.0.0.1', 0))
        self.listen(backlog)

    def handle_accepted(self, sock, addr):
        self.handler(sock)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--poller', choices=['select', 'poll'], default='select')
    p.add_argument('--mode', choices=['echo', 'chat'], default='echo')
    p.add_argument('--backlog', type=int, default=1024)
    args = p.parse_args()
    server = Server(args.backlog, LineEcho if args.mode == 'chat' else EchoHandler)
    sys.stdout.write('PORT %d\n' % server.socket.getsockname()[1])
    sys.stdout.flush()
    asyncore.loop(use_poll=args.poller == 'poll')


if __name__ == '__main__':
    main()
