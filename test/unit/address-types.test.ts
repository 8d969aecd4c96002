// The address families are literal types, so a Socket's addresses are typed by its family:
// `npm run typecheck` compiles this file, and the tests check the values behind the types.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { AF_INET, AF_INET6, AF_UNIX, type InetAddress, type Inet6Address, type Socket } from '../../src/index.js';
import { C } from '../../src/sys/constants.js';

// Type-level checks: these assignments only compile with the tuple types.
function typed(a: Socket<typeof AF_INET>, b: Socket<typeof AF_INET6>, u: Socket<typeof AF_UNIX>, any: Socket): void {
  const [host, port]: [string, number] = a.getsockname();
  const scope: number = b.getpeername()[3];
  const path: string = u.getsockname();
  const wide: Socket = a; // a family-typed socket is still a Socket
  void [host, port, scope, path, wide, any];
}
void typed;

it('AF_INET, AF_INET6 and AF_UNIX are the platform numbers', () => {
  assert.deepEqual([AF_INET, AF_INET6, AF_UNIX], [C.AF_INET, C.AF_INET6, C.AF_UNIX]);
});

it('a family constant still widens to number in a variable', () => {
  let family = AF_INET;
  family = AF_INET6; // compiles: `let` widens the literal
  assert.equal(family, 10);
  const pair: InetAddress = ['127.0.0.1', 1];
  const quad: Inet6Address = ['::1', 1, 0, 0];
  assert.equal(pair.length + quad.length, 6);
});
