// Ping-pong, 64-byte messages, 10 connections: a pass has few events, so the fixed cost of a
// pass (the declaration walk, the wait, the dispatch set-up) weighs more than at 50.
import type { Scenario } from './lib.js';
import { runIfMain } from './harness.js';

export const scenario: Scenario = {
  id: 'pingpong-10',
  title: 'ping-pong 10',
  description: '64-byte ping-pong over 10 connections: round trips per second',
  unit: 'rt/s',
  metric: 'rate',
  serverMode: 'echo',
  loadArgs: () => ['-m', 'pingpong', '-c', '10', '-s', '64'],
};

await runIfMain(import.meta.url, [scenario]);
