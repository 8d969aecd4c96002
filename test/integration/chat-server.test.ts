// The example chat server (examples/chat-server.ts) with several node:net users: nicks,
// broadcast, nick changes, /who, /quit, errors, a vanished client (its command line:
// test/process/example-servers.test.ts).
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { checkLeaks, pumpLoop } from '../helpers.js';
import { closeAll, type SocketMap } from '../../src/index.js';
import { ChatServer, MAX_LINE } from '../../src/examples/chat-server.js';

const maps: SocketMap[] = [];
const clients: net.Socket[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  for (const m of maps.splice(0)) closeAll(m);
});
checkLeaks(); // after the cleanup hook: hooks run in order

function start() {
  const map: SocketMap = new Map();
  maps.push(map);
  const server = new ChatServer('127.0.0.1', 0, { map, name: 'test chat' });
  const port = (server.address() as [string, number])[1];
  const pump = pumpLoop(map);
  /** A user: `lines` is everything received; `next()` waits for and takes the next line. */
  const user = async () => {
    const sock = net.connect(port, '127.0.0.1');
    clients.push(sock);
    const lines: string[] = [];
    let partial = '';
    let closed = false;
    sock.on('data', (d) => {
      partial += d.toString('utf8');
      const parts = partial.split('\r\n');
      partial = parts.pop()!;
      lines.push(...parts);
    });
    sock.on('close', () => { closed = true; });
    sock.on('error', () => {});
    let read = 0;
    const next = async () => {
      await pump(() => lines.length > read, 'a line');
      return lines[read++]!;
    };
    const say = async (text: string) => {
      sock.write(`${text}\r\n`);
    };
    const welcome = await next();
    const m = /^\* welcome to test chat, (guest\d+); \/nick NAME to change your nick, \/help for more$/.exec(welcome);
    assert.ok(m, welcome);
    const guest = m[1]!;
    return { sock, lines, next, say, guest, closed: () => closed };
  };
  return { map, server, pump, user };
}

describe('chat server', () => {
  it('guests, broadcast to the others, nick changes, /who and /quit', async () => {
    const { server, pump, user } = start();
    const alice = await user();
    const bob = await user();
    assert.equal(await alice.next(), `* ${bob.guest} joined`);
    const carol = await user();
    assert.equal(await alice.next(), `* ${carol.guest} joined`);
    assert.equal(await bob.next(), `* ${carol.guest} joined`);
    assert.deepEqual([alice.guest, bob.guest, carol.guest], ['guest1', 'guest2', 'guest3']);

    await alice.say('hello, anonymous');
    assert.equal(await bob.next(), '<guest1> hello, anonymous');
    assert.equal(await carol.next(), '<guest1> hello, anonymous');

    await alice.say('/nick alice');
    assert.equal(await alice.next(), '* you are now alice');
    assert.equal(await bob.next(), '* guest1 is now alice');
    assert.equal(await carol.next(), '* guest1 is now alice');
    await carol.say('/nick Alice');
    assert.equal(await carol.next(), '! the nick Alice is taken');
    await bob.say('/nick bob');
    assert.equal(await bob.next(), '* you are now bob');
    assert.equal(await alice.next(), '* guest2 is now bob');
    assert.equal(await carol.next(), '* guest2 is now bob');

    await alice.say('hi all, caf\u00e9');
    assert.equal(await bob.next(), '<alice> hi all, caf\u00e9');
    assert.equal(await carol.next(), '<alice> hi all, caf\u00e9');

    await carol.say('/who');
    assert.equal(await carol.next(), '* here: alice, bob, guest3');

    await bob.say('/quit see you');
    assert.equal(await bob.next(), '* bye');
    await pump(() => bob.closed(), 'bob to be disconnected');
    assert.equal(await alice.next(), '* bob left (see you)');
    assert.equal(await carol.next(), '* bob left (see you)');
    assert.deepEqual(server.nicks(), ['alice', 'guest3']);
    // Nobody got their own words back.
    assert.ok(!alice.lines.some((l) => l.startsWith('<alice>') || l.startsWith('<guest1>')));
  });

  it('many lines in one write arrive in order; empty lines are ignored', async () => {
    const { user } = start();
    const a = await user();
    const b = await user();
    assert.equal(await a.next(), `* ${b.guest} joined`);
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`);
    a.sock.write(lines.join('\n\n') + '\n');
    for (const l of lines) assert.equal(await b.next(), `<${a.guest}> ${l}`);
  });

  it('errors: bad nicks, unknown commands, over-long lines; the session goes on', async () => {
    const { user } = start();
    const u = await user();
    await u.say('/nick');
    assert.equal(await u.next(), '! a nick is 1 to 32 letters, digits, _ or -: /nick NAME');
    await u.say('/nick has space');
    assert.equal(await u.next(), '! a nick is 1 to 32 letters, digits, _ or -: /nick NAME');
    await u.say('/dance');
    assert.equal(await u.next(), '! unknown command /dance; try /help');
    await u.say('x'.repeat(MAX_LINE * 40));
    assert.equal(await u.next(), `! line too long (at most ${MAX_LINE} bytes)`);
    await u.say('/help');
    assert.equal(await u.next(), '* commands: /nick NAME, /who, /quit [message], /help');
  });

  it('a user who just disconnects is announced as gone, and the server keeps serving', async () => {
    const { server, pump, user } = start();
    const a = await user();
    const b = await user();
    assert.equal(await a.next(), '* guest2 joined');
    await b.say('/nick b');
    assert.equal(await b.next(), '* you are now b');
    assert.equal(await a.next(), '* guest2 is now b');
    b.sock.destroy();
    assert.equal(await a.next(), '* b left');
    await pump(() => server.sessions.size === 1, 'the session to go');
    const c = await user();
    assert.equal(await a.next(), `* ${c.guest} joined`);
    await c.say('/nick b'); // the nick is free again
    assert.equal(await c.next(), '* you are now b');
  });
});
