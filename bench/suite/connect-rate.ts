// Connection rate: 50 slots, each connects, sends one 64-byte message, reads the echo and
// closes, over and over; connections per second. Exercises accept, channel creation and close.
//
// The client closes abortively (RST, -R): with an orderly close every connection leaves a
// TIME_WAIT socket on the client for 60 s, which at this rate fills the ephemeral port range,
// makes the client's connect() the bottleneck and makes each row depend on the rows before it.
// Even so, one client core opening and closing sockets is about as fast as one server core
// accepting them, so the C row here is client-bound; compare rows per server CPU-s.
import type { Scenario } from './lib.js';
import { runIfMain } from './harness.js';

export const scenario: Scenario = {
  id: 'connect-rate',
  title: 'connect',
  description: 'connect, one 64-byte message and its echo, close with RST (50 at a time): connections per second',
  unit: 'conn/s',
  metric: 'rate',
  serverMode: 'echo',
  loadArgs: () => ['-m', 'connect', '-c', '50', '-s', '64', '-R'],
};

await runIfMain(import.meta.url, [scenario]);
