// Bulk: one connection streams 64 KiB writes (at most 4 MiB in flight) and reads the echo back
// for a fixed time; megabytes (10^6 bytes) echoed per second.
import type { Scenario } from './lib.js';
import { runIfMain } from './harness.js';

export const scenario: Scenario = {
  id: 'bulk',
  title: 'bulk',
  description: 'one connection streaming 64 KiB writes, echoed back: MB/s (10^6 bytes)',
  unit: 'MB/s',
  metric: 'mbps',
  serverMode: 'echo',
  loadArgs: () => ['-m', 'bulk', '-c', '1'],
};

await runIfMain(import.meta.url, [scenario]);
