import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A function giving the bytes in use (JS heap plus ArrayBuffers) after two full
 * collections, so a difference between two calls is what was kept, not garbage.
 */
export function memoryInUse(): () => number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
}
