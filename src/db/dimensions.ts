import { splitModule } from '../record';
import type { LoadRow } from './row';

/** A small table of distinct names with integer ids (users, hosts, modules, paths). */
export interface Dimension {
  table: string;
  /** The unique column the loader looks values up by. */
  key: string;
  /** Columns written for a new value, the key first. */
  columns: string[];
  values(key: string): (string | null)[];
  /** The row's value for this dimension; null means no reference (a path not logged). */
  of(row: LoadRow): string | null;
}

export const USERS: Dimension = { table: 'users', key: 'name', columns: ['name'], values: (k) => [k], of: (r) => r.user };
export const HOSTS: Dimension = { table: 'hosts', key: 'name', columns: ['name'], values: (k) => [k], of: (r) => r.host };
const MODULES: Dimension = {
  table: 'modules',
  key: 'module',
  columns: ['module', 'name', 'version'],
  values: (k) => {
    const { name, version } = splitModule(k);
    return [k, name, version];
  },
  of: (r) => r.module,
};
const PATHS: Dimension = { table: 'paths', key: 'path', columns: ['path'], values: (k) => [k], of: (r) => r.path };

export const DIMENSIONS = [USERS, HOSTS, MODULES, PATHS] as const;

/** The dimensions of a load's identity, in the order of its key columns after `time`. */
export const IDENTITY_DIMENSIONS = [USERS, HOSTS, MODULES] as const;

/**
 * Name -> id for one dimension, filled from the database as names turn up. No id may outlive a rolled-back batch: the
 * MySQL store caches ids once their rows are committed, the SQLite store clears its caches when a transaction rolls
 * back.
 */
export class IdCache {
  private readonly ids = new Map<string, number>();
  /** The other way round: names by id, so stored rows can be compared by name without hashing. */
  private readonly names: string[] = [];

  get(key: string): number | undefined {
    return this.ids.get(key);
  }

  nameOf(id: number): string | undefined {
    return this.names[id];
  }

  set(key: string, id: number): void {
    // A name read from a record may be a slice of a whole input chunk; kept for the run, it would keep the chunk too (64
    // KiB per name in SQLite loads): the cache holds a copy. V8 copies slices of up to 12 characters already.
    const own = key.length > 12 ? Buffer.from(key, 'utf16le').toString('utf16le') : key;
    this.ids.set(own, id);
    this.names[id] = own;
  }

  clear(): void {
    this.ids.clear();
    this.names.length = 0;
  }

  /** The distinct values of the rows that have no cached id yet. */
  missing(dimension: Dimension, rows: LoadRow[]): string[] {
    const missing = new Set<string>();
    for (const row of rows) {
      const key = dimension.of(row);
      if (key !== null && !this.ids.has(key)) missing.add(key);
    }
    return [...missing];
  }
}
