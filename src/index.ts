/** lmod-tracking as a library: the parser, the engines and stream stages, and the database layer that the commands are built from. */
export { LoadRecord, IDENTITY_FIELDS, RECORD_FIELDS, splitModule } from './record';
export { JobRecord, JOB_FIELDS, jobToNdjson } from './job-record';

export { parseLine, tagMatcher, DEFAULT_TAGS, ParseContext, ParseOutcome } from './parse/line';
export { YearResolver, zoneConverter, rfc3339ToIso } from './parse/header-time';
export { epochToIso } from './parse/epoch';
export { recordToNdjson } from './parse/serialize';
export { LogParser, NdjsonSink, ParseOptions, ParseCounts } from './parse/log-parser';
export { JobReader, JobReaderOptions, JobCounts, JobSink } from './jobs/job-reader';
export { parseSacctLine, SacctContext, SacctOutcome } from './jobs/sacct-line';
export { SACCT_FORMAT, readHeader, isHeaderLine, SacctColumns } from './jobs/sacct-header';
export { Deduper, DeduperOptions, DedupeOutput, DedupeStats } from './dedupe/deduper';
export { LineWindow, DEFAULT_MAX_LINE, MAX_RECORD_LINE } from './lines/line-window';
export { ParseStage, DedupeStage } from './stream/stages';
export { feedInputs, ByteConsumer, FeedOptions } from './io/input';

export { resolveDbConfig, parseDbUrl, describeDb, DbConfig } from './db/config';
export { openClient, SqlClient } from './db/client';
export { migrate, schemaStatus, ddl } from './db/migrate';
export { LoadRow } from './db/row';
export { toRow } from './load/validate';
