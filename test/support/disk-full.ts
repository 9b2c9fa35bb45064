// A disk that fills up, for the fault-injection tests, loaded into a bench process with
// `node --import <this file>`: writes to files whose path matches FTBENCH_TEST_DISK_FULL (a regular
// expression) put down half their bytes, then fail with ENOSPC, as a full disk does. Without that
// variable (and in the test runner, which also loads this file as a test) it changes nothing.
import fs from 'node:fs';

const pattern = process.env.FTBENCH_TEST_DISK_FULL;

if (pattern) {
  const full = new RegExp(pattern);
  const paths = new Map<number, string>();
  const { openSync, writeSync } = fs;
  fs.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...args: unknown[]) => number)(file, ...rest);
    paths.set(fd, String(file));
    return fd;
  }) as typeof fs.openSync;
  fs.writeSync = ((fd: number, data: NodeJS.ArrayBufferView | string, ...rest: unknown[]) => {
    if (!full.test(paths.get(fd) ?? '')) return (writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
    // A string is written from its start (its other arguments are a position and an encoding).
    const bytes = typeof data === 'string' ? Buffer.from(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const [offset, length] = typeof data === 'string' ? [0, bytes.byteLength] : [Number(rest[0] ?? 0), Number(rest[1] ?? bytes.byteLength - Number(rest[0] ?? 0))];
    const position = typeof data === 'string' ? (rest[0] as number | null | undefined) : (rest[2] as number | null | undefined);
    if (length > 1) return writeSync(fd, bytes, offset, Math.floor(length / 2), position);
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  }) as typeof fs.writeSync;
}
