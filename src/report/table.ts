/**
 * A report's result, independent of how it is printed: named columns and rows of plain values. Times are already UTC ISO
 * text, counts are numbers, absent values null.
 */
export type Cell = string | number | null;

export interface Column {
  /** The NDJSON key and CSV header. */
  key: string;
  /** The heading of the aligned table. */
  label: string;
  /** Counts are right-aligned in the table. */
  numeric?: boolean;
}

export interface ReportTable {
  /** One line saying what the rows are, e.g. for the HTML heading. */
  title: string;
  columns: Column[];
  rows: Record<string, Cell>[];
}
