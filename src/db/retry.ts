/**
 * Errors after which the same batch can simply be sent again: the connection went away (the server rolls back what it
 * had not committed) or the server chose this transaction as a deadlock or lock-wait victim. On a Galera cluster also:
 * a transaction that lost certification to another node's (1213, as a deadlock), a commit cut by a lost node (1180),
 * and a node not in the primary component for a moment (1047).
 */
const TRANSIENT = new Set(
  'PROTOCOL_CONNECTION_LOST PROTOCOL_SEQUENCE_TIMEOUT ECONNRESET ECONNREFUSED ETIMEDOUT EPIPE EHOSTUNREACH ENETUNREACH ER_LOCK_DEADLOCK ER_LOCK_WAIT_TIMEOUT ER_ERROR_DURING_COMMIT ER_UNKNOWN_COM_ERROR ER_SERVER_SHUTDOWN ER_CON_COUNT_ERROR ER_CONNECTION_KILLED ER_CLIENT_INTERACTION_TIMEOUT SQLITE_BUSY'.split(
    ' ',
  ),
);

export function isTransient(err: unknown): boolean {
  const e = err as (NodeJS.ErrnoException & { fatal?: boolean }) | null;
  // mysql2 marks errors that broke the connection itself as fatal.
  return e !== null && typeof e === 'object' && (TRANSIENT.has(e.code ?? '') || e.fatal === true);
}

export interface RetryOptions {
  /** Attempts after the first; 0 means no retry. */
  retries: number;
  /** First delay; each next one doubles, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  onRetry?: (err: Error, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 6, baseDelayMs: 250, maxDelayMs: 8000 };
export const NO_RETRY: RetryOptions = { ...DEFAULT_RETRY, retries: 0 };

/** Runs `attempt` until it succeeds, a non-transient error occurs, or the retries are spent. */
export async function withRetry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isTransient(err) || n > options.retries) throw err;
      const delay = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (n - 1));
      options.onRetry?.(err as Error, n, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
