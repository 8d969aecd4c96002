// Ping-pong, 64-byte messages, 1,000 connections: every pass of an asyncore loop now asks
// 1,000 channels readable()/writable(), and select/poll hand the kernel 1,000 descriptors.
import type { Scenario } from './lib.js';
import { runIfMain } from './harness.js';

export const scenario: Scenario = {
  id: 'pingpong-1000',
  title: 'ping-pong 1000',
  description: '64-byte ping-pong over 1,000 connections: round trips per second',
  unit: 'rt/s',
  metric: 'rate',
  serverMode: 'echo',
  loadArgs: () => ['-m', 'pingpong', '-c', '1000', '-s', '64'],
  nofile: () => 1200,
};

await runIfMain(import.meta.url, [scenario]);
