import type { TransformCallback } from 'node:stream';

/**
 * One step of a Transform that gathers its output in pieces: runs it, hands the pieces on
 * and calls back, also when the step throws, so the output before the line that stopped
 * the run (--max-errors) still goes out.
 */
export function runStep<T>(step: (out: T[]) => void, emit: (out: T[]) => void, callback: TransformCallback): void {
  const out: T[] = [];
  let failure: Error | null = null;
  try {
    step(out);
  } catch (err) {
    failure = err as Error;
  }
  emit(out);
  callback(failure);
}
