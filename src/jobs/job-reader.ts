import { jobToNdjson } from '../job-record';
import { DEFAULT_MAX_LINE, LineWindow } from '../lines/line-window';
import { zoneConverter } from '../parse/header-time';
import type { NdjsonSink } from '../parse/log-parser';
import { isHeaderLine, readHeader, type SacctColumns } from './sacct-header';
import { parseSacctLine, type SacctContext } from './sacct-line';

/** Where the job records go: an NdjsonSink (FdSink) without the latin1 path lmod-parse's fast path needs. */
export type JobSink = Pick<NdjsonSink, 'bytes'>;

export interface JobCounts {
  lines: number;
  jobs: number;
  /** Step rows, folded into their job. */
  steps: number;
  /** Header and empty lines, and the rows under a header that lacks a needed field. */
  skipped: number;
  malformed: number;
  /** Headers that lack a needed field. */
  badHeaders: number;
}

export interface JobReaderOptions {
  /** Zone of sacct's Start and End (default: this machine's); throws on a zone Intl does not know. */
  tz?: string;
  /** The cluster of rows without a Cluster value. */
  cluster?: string | null;
  /** Lines longer than this many bytes are reported and dropped unread. */
  maxLength?: number;
  /** A row that yields no job; may throw to stop the run. */
  onMalformed?: (source: string, line: number, reason: string, text?: string) => void;
  /** A header without a needed field (`lacks`: `ElapsedRaw or Elapsed`); the rows under it are skipped. */
  onBadHeader?: (source: string, line: number, lacks: string) => void;
}

/**
 * lmod-jobs' engine, with no I/O of its own: the bytes of `sacct --parsable2` output in, one NDJSON job record per job
 * out to a sink, with counts. Each input starts with its header; a header line further on (outputs concatenated) is
 * read anew and governs the rows after it.
 */
export class JobReader {
  readonly counts: JobCounts = { lines: 0, jobs: 0, steps: 0, skipped: 0, malformed: 0, badHeaders: 0 };
  private readonly window: LineWindow;
  private readonly context: SacctContext;
  /** The input being read. */
  private source: string | undefined;
  /** The columns of the input's last header: undefined before it, null when it lacked a needed field. */
  private columns: SacctColumns | null | undefined;

  constructor(private readonly options: JobReaderOptions = {}) {
    this.window = new LineWindow(options.maxLength ?? DEFAULT_MAX_LINE);
    this.context = { toEpoch: zoneConverter(options.tz), cluster: options.cluster ?? null };
  }

  /** An input's next bytes, in any chunking (copied in). A new source starts a new input; end() each input first. */
  write(source: string, bytes: Uint8Array, sink: JobSink): void {
    if (source !== this.source) {
      this.source = source;
      this.columns = undefined;
      this.window.restart();
    }
    this.window.append(bytes);
    while (this.window.next()) this.line(sink);
  }

  /** The end of the input being read: its unfinished last line is a line, and the next input has its own header. */
  end(sink: JobSink): void {
    if (this.source === undefined) return;
    if (this.window.finish()) this.line(sink);
    this.source = undefined;
  }

  /** The line the window handed out. */
  private line(sink: JobSink): void {
    const { window, counts } = this;
    const source = this.source as string;
    counts.lines++;
    if (window.lineStart < 0) {
      counts.malformed++;
      this.options.onMalformed?.(source, window.lineNo, `line longer than ${window.maxLine} bytes`);
      return;
    }
    const text = window.text(window.lineStart, window.lineEnd);
    if (text.trim() === '') {
      counts.skipped++;
    } else if (this.columns === undefined || isHeaderLine(text)) {
      this.header(text);
    } else if (this.columns === null) {
      counts.skipped++;
    } else {
      const outcome = parseSacctLine(text, this.columns, this.context);
      if ('job' in outcome) {
        counts.jobs++;
        sink.bytes(Buffer.from(jobToNdjson(outcome.job)));
      } else if ('step' in outcome) {
        counts.steps++;
      } else {
        counts.malformed++;
        this.options.onMalformed?.(source, window.lineNo, outcome.malformed, text);
      }
    }
  }

  private header(text: string): void {
    this.counts.skipped++;
    const outcome = readHeader(text);
    if ('columns' in outcome) {
      this.columns = outcome.columns;
      return;
    }
    this.columns = null;
    this.counts.badHeaders++;
    this.options.onBadHeader?.(this.source as string, this.window.lineNo, outcome.lacks);
  }
}
