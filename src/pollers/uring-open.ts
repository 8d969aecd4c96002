// Setting up the uring poller: the ring with the best task-running mode this kernel grants,
// the features and opcodes the poller needs, and the data path's buffers where the kernel has
// them. Anything missing is a reason string: the caller (create.ts) falls back to epoll.
import * as U from '../sys/uring.js';
import { EACCES, EMFILE, ENFILE, ENOMEM, EPERM, errnoName } from '../sys/errno.js';
import { socketError } from '../errors.js';
import { ChunkPool, ProvidedBuffers } from './uring-buffers.js';
import { UringPoller } from './uring.js';

const SQ_ENTRIES = 1024;
const CQ_ENTRIES = 4096;

/** Ring setups to try, best first: DEFER_TASKRUN needs Linux 6.1, COOP_TASKRUN 5.19. */
const SETUPS = [
  U.SETUP_SINGLE_ISSUER | U.SETUP_DEFER_TASKRUN | U.SETUP_SUBMIT_ALL,
  U.SETUP_SINGLE_ISSUER | U.SETUP_COOP_TASKRUN | U.SETUP_SUBMIT_ALL,
  U.SETUP_COOP_TASKRUN | U.SETUP_SUBMIT_ALL,
];
const NEEDED_FEATURES: [number, string][] = [
  [U.FEAT_EXT_ARG, 'IORING_FEAT_EXT_ARG (Linux 5.11)'],
  [U.FEAT_NODROP, 'IORING_FEAT_NODROP (Linux 5.5)'],
  [U.FEAT_CQE_SKIP, 'IORING_FEAT_CQE_SKIP (Linux 5.17)'],
];
const NEEDED_OPS: [number, string][] = [
  [U.OP_POLL_ADD, 'IORING_OP_POLL_ADD'],
  [U.OP_POLL_REMOVE, 'IORING_OP_POLL_REMOVE'],
  [U.OP_ASYNC_CANCEL, 'IORING_OP_ASYNC_CANCEL'],
];
/** Opcodes are probed once per process (the kernel does not change under us). */
let probed: boolean[] | null = null;
/** Provided-buffer rings refused once (a kernel before 5.19): not asked again. */
let noBufferRings = false;

/**
 * A ring for the `uring` poller, or the reason io_uring cannot serve here (the caller falls
 * back to epoll). Running out of descriptors or memory is not such a reason: it throws.
 */
export function openUring<P extends UringPoller = UringPoller>(
  make: (ring: U.Ring, data: { bufs: ProvidedBuffers; pool: ChunkPool } | null) => P = (r, d) => new UringPoller(r, d) as P,
): P | string {
  let ring: U.Ring | number = -U.EINVAL;
  for (const flags of SETUPS) {
    ring = U.setupRing(SQ_ENTRIES, CQ_ENTRIES, flags);
    if (ring !== -U.EINVAL) break;
  }
  if (typeof ring === 'number') {
    const e = -ring;
    if (e === EMFILE || e === ENFILE || e === ENOMEM) throw socketError(e, 'io_uring_setup');
    if (e === U.ENOSYS) return 'the kernel has no io_uring (io_uring_setup: ENOSYS)';
    if (e === U.EINVAL) return 'the kernel lacks IORING_SETUP_COOP_TASKRUN (io_uring_setup: EINVAL; Linux 5.19 or later is needed)';
    if (e === EPERM || e === EACCES) {
      return `io_uring is disabled for this process (io_uring_setup: ${errnoName(e)}; the kernel.io_uring_disabled sysctl or a seccomp policy)`;
    }
    return `io_uring_setup failed: ${errnoName(e)}`;
  }
  for (const [bit, name] of NEEDED_FEATURES) {
    if ((ring.features & bit) === 0) {
      U.closeRing(ring);
      return `the kernel lacks ${name}`;
    }
  }
  if (probed === null) {
    const ops = U.probeOps(ring.fd);
    if (typeof ops === 'number') {
      U.closeRing(ring);
      return `io_uring_register(IORING_REGISTER_PROBE) failed: ${errnoName(-ops)}`;
    }
    for (const [op, name] of NEEDED_OPS) {
      if (ops[op] !== true) {
        U.closeRing(ring);
        return `the kernel lacks ${name}`;
      }
    }
    probed = ops;
  }
  return make(ring, dataPathFor(ring));
}

/**
 * The data path's buffers, or null where it cannot run (readiness polls serve every channel
 * then): no OP_RECV/OP_SEND, no provided-buffer rings, or ASYNCORE_URING_DATA=0.
 */
function dataPathFor(ring: U.Ring): { bufs: ProvidedBuffers; pool: ChunkPool } | null {
  if (process.env.ASYNCORE_URING_DATA === '0' || noBufferRings) return null;
  if (probed![U.OP_RECV] !== true || probed![U.OP_SEND] !== true) return null;
  const bufs = ProvidedBuffers.open(ring.fd);
  if (typeof bufs === 'number') {
    if (bufs === -ENOMEM) throw socketError(ENOMEM, 'io_uring_register');
    noBufferRings = true;
    return null;
  }
  return { bufs, pool: new ChunkPool() };
}
