// The help texts of the asyncore command and each of its subcommands.
export const PROG = 'asyncore';

export const HELP: Record<string, string> = {
  '': `Usage: ${PROG} <command> [options]

Python's asyncore and asynchat for Node: the seed programs, example servers and benchmarks.

Commands:
  demo              run the echo server + client and the HTTP client against a local
                    HTTP server, in one process, and print the transcript
  echo-server       the documentation's echo server (Ctrl-C stops it)
  http-get URL      the documentation's HTTP/1.0 client (http:// and https://): prints headers and body
  chat-server       a line-based chat room built on AsyncChat
  smtp-server       a small SMTP server that stores each message in a directory
  forward           the classic port forwarder: relays each connection to HOST:PORT
  bench             run the benchmark suite and print its table (from a clone)

Options:
  -h, --help        show this help (every command has --help too)
  -V, --version     print the version

Exit status: 0 ok, 1 failure, 2 usage error.`,
  demo: `Usage: ${PROG} demo

Runs the asyncore documentation's two programs in one process and prints the transcript:
  1. the echo server (examples/echo-server.ts) on 127.0.0.1, an ephemeral port, and a
     client that sends a few lines and prints what comes back;
  2. the HTTP client (examples/http-client.ts) against a node:http server started in a
     child process on 127.0.0.1 (asyncore's loop() owns this process's thread).
Everything it starts is closed before it exits. This is what \`npm start\` runs.`,
  'echo-server': `Usage: ${PROG} echo-server [--host HOST] [--port PORT] [--poller NAME] [--idle-timeout SECONDS] [--tls-cert FILE --tls-key FILE]

The asyncore documentation's echo server. The first line of output is the bound address.
Ctrl-C (SIGINT) or SIGTERM closes every channel and exits 0. With --tls-cert, every
connection speaks TLS (asyncore/ssl's sslChannel) from its first byte.

Options:
  --host HOST              address to bind (default: localhost)
  --port PORT              port to bind, 0 for any free port (default: 8080)
  --poller NAME            run loop() with select, poll, epoll or uring (default: loopAsync)
  --idle-timeout SECONDS   close a connection after this long without input (callLater;
                           default: never)
  --tls-cert FILE          PEM certificate chain: serve TLS (the key may be in the same file)
  --tls-key FILE           PEM private key for --tls-cert
  -h, --help               show this help`,
  'http-get': `Usage: ${PROG} http-get URL [--timeout SECONDS] [--cafile FILE] [--insecure]

The asyncore documentation's HTTP client: sends "GET path HTTP/1.0" to an http:// or https://
URL and prints the response as it arrives, headers and body. IPv4 and host names. https://
uses TLS (asyncore/ssl) and verifies the server's certificate and host name against Node's
bundled root certificates and the system store, unless told otherwise.

Options:
  --timeout SECONDS   give up after this long (default: 30)
  --cafile FILE       trust the CA certificates in this PEM file instead (https:// only)
  --insecure          do not verify the certificate or the host name (https:// only)
  -h, --help          show this help`,
  'chat-server': `Usage: ${PROG} chat-server [--host HOST] [--port PORT] [--poller NAME] [--name NAME] [--idle-timeout SECONDS]

A multi-user line chat (examples/chat-server.ts, built on AsyncChat): what one user says
goes to everyone else; /nick NAME, /who, /quit and /help are commands. The first line of
output is the bound address. Ctrl-C (SIGINT) or SIGTERM closes every channel and exits 0.

Options:
  --host HOST     address to bind (default: localhost)
  --port PORT     port to bind, 0 for any free port (default: 7777)
  --poller NAME   run loop() with select, poll, epoll or uring (default: loopAsync)
  --name NAME     the room's name in the welcome line
  --idle-timeout SECONDS
                  close a member after this long without a line (default: never)
  -h, --help      show this help

A member who does not read is disconnected with a notice once 256 KiB of output waits
for them; control characters in what members say are shown as \\xNN.`,
  'smtp-server': `Usage: ${PROG} smtp-server --dir DIR [--host HOST] [--port PORT] [--poller NAME] [--timeout SECONDS] [--tls-cert FILE --tls-key FILE]

A small SMTP server (examples/smtp-server.ts, built on AsyncChat, in the manner of Python's
smtpd) that stores each message it accepts as a file in DIR. The first line of output is the bound address.
Ctrl-C (SIGINT) or SIGTERM closes every channel and exits 0.

Options:
  --dir DIR       directory for received messages (required; created if missing; it must
                  be writable, or the command exits 1 at once)
  --host HOST     address to bind (default: localhost)
  --port PORT     port to bind, 0 for any free port (default: 8025)
  --poller NAME   run loop() with select, poll, epoll or uring (default: loopAsync)
  --timeout SECONDS
                  close a client (421) that sends no command, or no message data, for
                  this long (default: 300 s for a command, 180 s for data, RFC 5321)
  --tls-cert FILE PEM certificate chain: offer STARTTLS (RFC 3207; EHLO advertises it)
  --tls-key FILE  PEM private key for --tls-cert
  -h, --help      show this help

A message streams to a temporary file as it arrives (SIZE enforced on the way) and is
renamed into DIR when complete; a failed message leaves no file. At most 100 recipients
per message (452 after that). After STARTTLS the session starts over (a new EHLO is
needed) and commands sent in plain text after STARTTLS are ignored.`,
  forward: `Usage: ${PROG} forward --listen [HOST:]PORT --to HOST:PORT [--poller NAME]

The classic asyncore port forwarder (examples/port-forwarder.ts): each connection accepted on
the listening address gets its own connection to the target, and the two relay to each other.
A side stops reading while the other has more than 512 KiB queued (back-pressure); one side's
EOF is passed on as shutdown(SHUT_WR) once its data is sent (half-close); a refused or reset
connection closes the other side. The first line of output is the bound address.
Ctrl-C (SIGINT) or SIGTERM closes every channel and exits 0.

Options:
  --listen [HOST:]PORT   address to listen on, 0 for any free port (HOST default: localhost;
                         [::1]:PORT for IPv6)
  --to HOST:PORT         where to forward each connection
  --poller NAME          run loop() with select, poll, epoll or uring (default: loopAsync)
  -h, --help             show this help`,
  bench: `Usage: ${PROG} bench [--quick]

Runs the benchmark suite (bench/run.ts) and prints its table. The suite is part of the
repository, not of the installed package: run it from a clone after \`npm ci\`.

Options:
  --quick       a short run (seconds, not minutes); numbers are rougher
  -h, --help    show this help`,
};

