/**
 * errno numbers as people read them: `File exists (EEXIST)`, the wording of `ip` and strerror.
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

import { KernelError } from '../errors.js';

/** Linux errno numbers berth reacts to by name. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ERANGE: 34,
  EOPNOTSUPP: 95,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
  ENOTCONN: 107,
} as const;

/** glibc's strerror text for the errnos netlink and netns calls return most. */
const STRERROR: Readonly<Record<number, string>> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  4: 'Interrupted system call',
  5: 'Input/output error',
  9: 'Bad file descriptor',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  23: 'Too many open files in system',
  24: 'Too many open files',
  28: 'No space left on device',
  34: 'Numerical result out of range',
  90: 'Message too long',
  93: 'Protocol not supported',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
  98: 'Address already in use',
  99: 'Cannot assign requested address',
  101: 'Network is unreachable',
  105: 'No buffer space available',
  107: 'Transport endpoint is not connected',
  113: 'No route to host',
};

let names: Map<number, string> | undefined;

/** `EEXIST` for 17; `E<n>` when unknown. */
export function errnoName(errno: number): string {
  if (names === undefined) {
    // Some numbers have two names (11 EAGAIN/EWOULDBLOCK, 95 ENOTSUP/EOPNOTSUPP): prefer ours,
    // which are the ones strerrorname_np and iproute2 print.
    names = new Map<number, string>();
    for (const [name, value] of Object.entries({ ...constants.errno, ...Errno })) {
      if (!names.has(value) || name in Errno) names.set(value, name);
    }
  }
  return names.get(errno) ?? `E${errno}`;
}

/** `File exists (EEXIST)` for 17. */
export function describeErrno(errno: number): string {
  const text = STRERROR[errno] ?? getSystemErrorMap().get(-errno)?.[1] ?? `error ${errno}`;
  return `${text} (${errnoName(errno)})`;
}

/** Where an operation ran, for messages: ` in netns /run/berth/netns/x`, or nothing for the host. */
export function inNetns(netns: string | null): string {
  return netns === null ? '' : ` in netns ${netns}`;
}

/**
 * A KernelError for an errno, worded as a chain:
 * `link-add br-x in netns /run/…: File exists (EEXIST)` (no "in netns" for the daemon's own),
 * with the kernel's extended-ack text or the failing syscall before the errno.
 */
export function kernelErrorFromErrno(details: {
  op: string;
  netns: string | null;
  errno: number;
  detail?: string;
  cause?: unknown;
}): KernelError {
  const detail = details.detail === undefined ? '' : `${details.detail}: `;
  return new KernelError(`${details.op}${inNetns(details.netns)}: ${detail}${describeErrno(details.errno)}`, {
    op: details.op,
    netns: details.netns,
    errno: details.errno,
    cause: details.cause,
  });
}
