import type { Fact } from './mysql-store';

/**
 * LOAD DATA LOCAL of one batch: IGNORE skips the identities already stored (one warning each). It would also turn a
 * value the server must cut into a warning, so the store runs it in a transaction and rolls back when there are more
 * warnings than skipped rows.
 */
export const LOAD_FACTS =
  "LOAD DATA LOCAL INFILE 'lmod-load-batch' IGNORE INTO TABLE module_loads CHARACTER SET utf8mb4 " +
  '(time, user_id, host_id, module_id, path_id, jobid, userload, extra, cluster)';

/**
 * Server errors (errno) that mean LOAD DATA LOCAL is not allowed here, so batches go as INSERTs: 1148 (MySQL 5.x), 3948
 * (MySQL 8, where local_infile is off by default), 4166 (MariaDB; mysql2 knows no name for it).
 */
export const LOCAL_INFILE_REFUSED = new Set([1148, 3948, 4166]);

const SPECIAL = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** A text value in LOAD DATA's default format: backslash escapes, `\N` for NULL. */
function field(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(SPECIAL, (c) => ESCAPES[c]);
}

/** The batch as LOAD DATA's default input: one tab-separated line per fact, UTF-8. */
export function factsText(facts: Fact[]): Buffer {
  const lines = facts.map(
    (f) =>
      `${f.time}\t${f.userId}\t${f.hostId}\t${f.moduleId}\t${f.pathId ?? '\\N'}\t${field(f.row.jobid)}\t${f.row.userload ?? '\\N'}\t${field(f.row.extra)}\t${field(f.row.cluster)}\n`,
  );
  return Buffer.from(lines.join(''), 'utf8');
}
