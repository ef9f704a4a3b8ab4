import { HashSet64 } from '../dedupe/hash-set';
import type { ModulesOptions } from './queries';

/**
 * The `modules` report counted in the client from a stream of loads (module id, user id, host id, stored time), with the
 * same rows and order as modulesQuery's SQL. MariaDB joins and groups about 0.5 M rows a second with three
 * COUNT(DISTINCT)s per package, while it sends the bare ids ten times as fast: a month of 5 million loads took 1.5 s in
 * SQL, 0.2 s streamed.
 */

/** A row of the `modules` table: its id and names. */
export interface ModuleName {
  id: number;
  module: string;
  name: string;
  version: string | null;
}

/** One result row, keyed as modulesQuery's columns are (a type, not an interface, so it is a plain record). */
export type ModuleCountRow = {
  module?: string;
  name: string;
  version?: string | null;
  versions?: number;
  loads: number;
  users: number;
  hosts: number;
  first_load: string;
  last_load: string;
};

/** The low word of a pair key: a bijection of the member for each group, so pairs never collide, and spread for the table's probing. */
export function pairLow(group: number, member: number): number {
  let h = (member + Math.imul(group, 0x9e3779b9)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Strings in code-point order, as binary collations of UTF-8 compare them (JavaScript's `<` compares UTF-16 units). */
export const compareCodePoints = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class ModuleCounter {
  private readonly groupOfModule = new Map<number, number>();
  private readonly labels: ModuleName[] = [];
  private readonly loads: number[] = [];
  private readonly users: number[] = [];
  private readonly hosts: number[] = [];
  private readonly versions: number[] = [];
  private readonly first: string[] = [];
  private readonly last: string[] = [];
  private readonly userPairs = new HashSet64(1 << 16);
  private readonly hostPairs = new HashSet64(1 << 16);
  private readonly versionPairs = new HashSet64(1 << 12);

  constructor(
    modules: ModuleName[],
    private readonly o: ModulesOptions,
  ) {
    const groupOfName = new Map<string, number>();
    for (const m of modules) {
      const key = o.by === 'version' ? m.module : m.name;
      let group = groupOfName.get(key);
      if (group === undefined) {
        group = this.labels.length;
        groupOfName.set(key, group);
        this.labels.push(m);
        this.loads.push(0);
        this.users.push(0);
        this.hosts.push(0);
        this.versions.push(0);
        this.first.push('');
        this.last.push('');
      }
      this.groupOfModule.set(m.id, group);
    }
  }

  /** One load. A module id the names do not know is left out, as the SQL's join leaves it out. */
  add(moduleId: number, userId: number, hostId: number, time: string): void {
    const group = this.groupOfModule.get(moduleId);
    if (group === undefined) return;
    const high = group + 1;
    if (this.loads[group]++ === 0) {
      this.first[group] = time;
      this.last[group] = time;
    } else if (time < this.first[group]) this.first[group] = time;
    else if (time > this.last[group]) this.last[group] = time;
    if (this.userPairs.add(high, pairLow(group, userId))) this.users[group]++;
    if (hostId !== this.o.blankHostId && this.hostPairs.add(high, pairLow(group, hostId))) this.hosts[group]++;
    if (this.o.by === 'name' && this.versionPairs.add(high, pairLow(group, moduleId))) this.versions[group]++;
  }

  /** The groups with loads, sorted and cut as the report asks. */
  rows(): ModuleCountRow[] {
    const rows: ModuleCountRow[] = [];
    for (let g = 0; g < this.labels.length; g++) {
      if (this.loads[g] === 0) continue;
      const m = this.labels[g];
      const counts = {
        loads: this.loads[g],
        users: this.users[g],
        hosts: this.hosts[g],
        first_load: this.first[g],
        last_load: this.last[g],
      };
      rows.push(
        this.o.by === 'version' ? { module: m.module, name: m.name, version: m.version, ...counts } : { name: m.name, versions: this.versions[g], ...counts },
      );
    }
    const [major, minor] = this.o.sort === 'users' ? (['users', 'loads'] as const) : (['loads', 'users'] as const);
    const label = (r: ModuleCountRow): string => (this.o.by === 'version' ? (r.module as string) : r.name);
    rows.sort((a, b) => b[major] - a[major] || b[minor] - a[minor] || compareCodePoints(label(a), label(b)));
    return this.o.top === null ? rows : rows.slice(0, this.o.top);
  }
}
