// 50 active ping-pong connections (64-byte messages) next to 10,000 idle ones, which the load
// generator opens first (each proven accepted by a 1-byte echo) and keeps silent. The issue's
// target: epoll's rate here is less than 20% below its rate in pingpong-50.
//
// select(2) cannot watch descriptors >= FD_SETSIZE (1024), so the select rows are left out. The
// poll(2) rows are left out of the default run (name them in --servers to measure them): a pass
// costs O(connections) and accepts one connection, so setting up 10,000 idle connections alone
// takes 15-40 s per run.
import type { Scenario } from './lib.js';
import { runIfMain } from './harness.js';

export const scenario: Scenario = {
  id: 'idle-10k',
  title: '50 + idle',
  description: '64-byte ping-pong over 50 connections while 10,000 idle connections stay open: round trips per second',
  unit: 'rt/s',
  metric: 'rate',
  serverMode: 'echo',
  exclude: {
    'select': 'select(2) cannot watch fds >= FD_SETSIZE (1024)',
    'py-select': 'select(2) cannot watch fds >= FD_SETSIZE (1024)',
  },
  optional: {
    'poll': 'poll(2) passes are O(connections) and accept one connection each, so the setup takes 15-40 s; add --servers poll to measure',
    'py-poll': 'poll(2) passes are O(connections) and accept one connection each, so the setup takes 15-40 s; add --servers py-poll to measure',
  },
  loadArgs: (cfg) => ['-m', 'pingpong', '-c', '50', '-s', '64', '-i', String(cfg.idle)],
  nofile: (cfg) => cfg.idle + 1200,
};

await runIfMain(import.meta.url, [scenario]);
