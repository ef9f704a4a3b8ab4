/**
 * lmod-tracking as a library: the parser, the stream stages and the database layer that the
 * commands are built from.
 */
export { LoadRecord, IDENTITY_FIELDS, splitModule } from './record';

export { parseLine, tagMatcher, DEFAULT_TAGS, ParseContext, ParseOutcome } from './parse/line';
export { YearResolver, zoneConverter, rfc3339ToIso } from './parse/header-time';
export { epochToIso } from './parse/epoch';
export { recordToNdjson } from './parse/serialize';
export { canonicalToNdjson } from './parse/fast-path';
export { LogParser, NdjsonSink } from './parse/log-parser';

export { openInput, gunzipIfCompressed, Input } from './stream/input';
export { LineSplitter, LineBatch, LineSplitterOptions, DEFAULT_MAX_LINE, bytesToUtf8 } from './stream/lines';
export { feedInputs, feedRawInputs, FeedOptions, RawChunk } from './stream/feed';
export { ParseStage, ParseStageOptions, ParseCounts } from './stream/parse-stage';
export { DedupeStage, DedupeStageOptions } from './stream/dedupe-stage';
export { Deduper, DedupeOutput } from './dedupe/deduper';
export { feedDescriptors, ByteConsumer } from './stream/fd-feed';

export { resolveDbConfig, parseDbUrl, describeDb, DbConfig } from './db/config';
export { openClient, SqlClient } from './db/client';
export { migrate, schemaStatus, ddl } from './db/migrate';
export { toRow, LoadRow } from './load/validate';
