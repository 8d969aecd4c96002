// asynchat: 64-byte lines ('\n'-terminated) through a line echo over 50 connections, one line
// in flight per connection; lines per second. The servers collect with collectIncomingData and
// push the line back from foundTerminator (AsyncChat, CPython's async_chat), or split on '\n'
// (Node net). The C reference is a plain byte echo, the floor for any line echo.
//
// One line per round trip on purpose: several small pushes per read would put Nagle's
// algorithm against the client's delayed ACKs and measure a 40 ms timer instead of the server.
import type { Scenario } from './lib.js';
import { runIfMain } from './harness.js';

export const scenario: Scenario = {
  id: 'asynchat-lines',
  title: 'asynchat',
  description: "64-byte lines through a line echo (AsyncChat setTerminator('\\n')), 50 connections: lines per second",
  unit: 'lines/s',
  metric: 'rate',
  serverMode: 'chat',
  loadArgs: () => ['-m', 'pingpong', '-c', '50', '-s', '64'],
};

await runIfMain(import.meta.url, [scenario]);
