// Fault injection seam: a test says "the next N calls of syscall S fail with errno E", and the
// wrappers in libc.ts return -E instead of calling libc. Cheap when unused: one boolean check.

type Plan = { errno: number; count: number };
const plans = new Map<string, Plan[]>();

/** True while any fault is planned; the wrappers test this before anything else. */
export let armed = false;

/** Make the next `count` calls of `syscall` fail with the positive `errno` (EINTR is retried). */
export function injectFault(syscall: string, errnoValue: number, count = 1): void {
  if (!Number.isInteger(count) || count < 1) throw new RangeError('injectFault: count must be a positive integer');
  if (!Number.isInteger(errnoValue) || errnoValue <= 0) throw new RangeError('injectFault: errno must be a positive errno number');
  const list = plans.get(syscall) ?? [];
  list.push({ errno: errnoValue, count });
  plans.set(syscall, list);
  armed = true;
}

/** Remove every planned fault. */
export function clearFaults(): void {
  plans.clear();
  armed = false;
}

/** How many injected failures of `syscall` are still planned. */
export function pendingFaults(syscall: string): number {
  return (plans.get(syscall) ?? []).reduce((n, p) => n + p.count, 0);
}

/** Called by the wrappers: 0 to make the real call, or -errno to fail without calling. */
export function takeFault(syscall: string): number {
  const list = plans.get(syscall);
  if (!list || list.length === 0) return 0;
  const plan = list[0]!;
  if (--plan.count === 0) list.shift();
  if (list.length === 0) {
    plans.delete(syscall);
    armed = plans.size > 0;
  }
  return -plan.errno;
}
