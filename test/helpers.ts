// Shared test helpers: fd-leak and map checks, temp paths, bounded loop passes.
import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { beforeEach, afterEach } from 'node:test';

/** Open descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Install per-test checks: after every test no fd leaked (against the count before it) and,
 * once the dispatcher layer exists, the global socketMap is empty.
 */
export function checkLeaks(): void {
  let before = 0;
  beforeEach(() => {
    before = fdCount();
  });
  afterEach(async () => {
    const { socketMap } = await import('../src/index.js') as { socketMap?: Map<number, unknown> };
    if (socketMap) {
      const left = [...socketMap.values()].map(String);
      for (const d of [...socketMap.values()]) {
        try { (d as { close(): void }).close(); } catch { /* already broken */ }
      }
      socketMap.clear();
      assert.deepEqual(left, [], 'socketMap must be empty after the test');
    }
    assert.equal(fdCount(), before, 'file descriptors leaked by the test');
  });
}

/** A fresh temporary directory (removed with `cleanup`). */
export function tempDir(prefix = 'asyncore-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh Unix socket path in a temp directory. */
export function unixPath(dir: string, name = 'sock'): string {
  return join(dir, name);
}

/** Whether IPv6 loopback works on this machine. */
export async function hasIPv6(): Promise<boolean> {
  const { Socket, AF_INET6 } = await import('../src/index.js');
  const s = new Socket(AF_INET6);
  try {
    s.bind(['::1', 0]);
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}
