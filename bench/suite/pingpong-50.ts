// Ping-pong, 64-byte messages, 50 connections: each connection sends one message and waits for
// the whole echo before sending the next. The targets are set on this scenario.
import type { Scenario } from './lib.js';
import { runIfMain } from './harness.js';

export const scenario: Scenario = {
  id: 'pingpong-50',
  title: 'ping-pong 50',
  description: '64-byte ping-pong over 50 connections: round trips per second',
  unit: 'rt/s',
  metric: 'rate',
  serverMode: 'echo',
  loadArgs: () => ['-m', 'pingpong', '-c', '50', '-s', '64'],
};

await runIfMain(import.meta.url, [scenario]);
