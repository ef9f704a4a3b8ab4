/*
 * lmod-parse's fast path, compiled to WebAssembly (scripts/build-wasm.sh): the lines of a buffer in Lmod's documented
 * format (`ModuleUsageTracking: user=U module=M path=P host=H time=S.FFFFFF`, with an optional RFC 3164 header, `[pid]`,
 * `jobid=`, `userload=` and a last `cluster=`, values of printable ASCII without quotes, commas, `=` or backslashes) are converted to
 * NDJSON here, at a few bytes per cycle, without a JavaScript string per line, exactly as the general parser (parseLine
 * and recordToNdjson) converts them; test/unit/parse-documented-wasm.test.ts holds the two to each other. Every other
 * line is left to the caller.
 *
 * No libc: built with -nostdlib, so the few helpers are here.
 */
#include <stdint.h>

#include "../../wasm/record-layout.h"

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

/* A value: printable ASCII but space, quotes, ',', '=' and backslash. */
static u8 value_table[256];
static int value_table_ready;

static void init_value_table(void) {
  for (int c = 0x21; c <= 0x7e; c++) value_table[c] = c != '"' && c != '\'' && c != ',' && c != '=' && c != '\\';
  value_table_ready = 1;
}

static int digit(u8 c) { return c >= '0' && c <= '9'; }

static int starts(const u8 *p, const u8 *e, const char *text, u32 n) {
  if ((u32)(e - p) < n) return 0;
  for (u32 i = 0; i < n; i++) if (p[i] != (u8)text[i]) return 0;
  return 1;
}

/* One or more value characters from p: their end, or 0. */
static const u8 *value(const u8 *p, const u8 *e) {
  const u8 *q = p;
  while (q < e && value_table[*q]) q++;
  return q == p ? 0 : q;
}

/* The regex's \s as it applies to latin1 bytes: also 0xA0 (no-break space). */
static int space(u8 c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0; }

static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/*
 * An RFC 3164 header, `Mon DD HH:MM:SS host `: the position after it, or p when the line does not start with one (the
 * header is optional).
 */
static const u8 *skip_header(const u8 *p, const u8 *e) {
  const u8 *q = p;
  if (e - q < 5) return p;
  int month = 0;
  for (int m = 0; m < 12 && !month; m++) month = q[0] == MONTHS[3 * m] && q[1] == MONTHS[3 * m + 1] && q[2] == MONTHS[3 * m + 2];
  if (!month || q[3] != ' ') return p;
  q += 4;
  if (q < e && *q == ' ') q++;
  /* The day: 1-9, 01-09, 10-29, 30 or 31. */
  if (q + 1 < e && digit(q[0]) && digit(q[1])) {
    u8 a = q[0], b = q[1];
    if (!((a == '0' && b != '0') || a == '1' || a == '2' || (a == '3' && b <= '1'))) return p;
    q += 2;
  } else if (q < e && digit(*q) && *q != '0') {
    q += 1;
  } else {
    return p;
  }
  if (e - q < 10) return p;
  if (!(q[0] == ' ' && digit(q[1]) && digit(q[2]) && q[3] == ':' && digit(q[4]) && digit(q[5]) && q[6] == ':' && digit(q[7]) &&
        digit(q[8]) && q[9] == ' '))
    return p;
  q += 10;
  const u8 *host = q;
  while (q < e && !space(*q) && *q != ':' && *q != '[') q++;
  if (q == host || q >= e || *q != ' ') return p;
  return q + 1;
}

/* ` userload=yes` or ` userload=no` at p: 1 or 0, p moved past it; -1 when absent. */
static int userload(const u8 **p, const u8 *e, int *bad) {
  if (!starts(*p, e, " userload=", 10)) return -1;
  *p += 10;
  if (starts(*p, e, "yes", 3)) { *p += 3; return 1; }
  if (starts(*p, e, "no", 2)) { *p += 2; return 0; }
  *bad = 1;
  return -1;
}

/* Copies 8 bytes at a time: the output has room to spare and reads past e stay in memory. */
static u8 *copy(u8 *o, const u8 *s, const u8 *e) {
  u32 n = (u32)(e - s);
  for (u32 i = 0; i < n; i += 8) {
    u64 w;
    __builtin_memcpy(&w, s + i, 8);
    __builtin_memcpy(o + i, &w, 8);
  }
  return o + n;
}

#define PUT(o, text) copy(o, (const u8 *)(text), (const u8 *)(text) + sizeof(text) - 1)

static u8 *two_digits(u8 *o, u32 v) {
  o[0] = (u8)('0' + v / 10);
  o[1] = (u8)('0' + v % 10);
  return o + 2;
}

/* `YYYY-MM-DDTHH:MM:SS` of whole seconds since the epoch (Howard Hinnant's civil_from_days). */
static u8 *iso_second(u8 *o, u64 seconds) {
  u64 days = seconds / 86400;
  u32 rest = (u32)(seconds % 86400);
  u64 z = days + 719468;
  u64 era = z / 146097;
  u32 doe = (u32)(z - era * 146097);
  u32 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  u32 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  u32 mp = (5 * doy + 2) / 153;
  u32 day = doy - (153 * mp + 2) / 5 + 1;
  u32 month = mp < 10 ? mp + 3 : mp - 9;
  u32 year = (u32)(yoe + era * 400) + (month <= 2);
  o[0] = (u8)('0' + year / 1000);
  o[1] = (u8)('0' + year / 100 % 10);
  o[2] = (u8)('0' + year / 10 % 10);
  o[3] = (u8)('0' + year % 10);
  o[4] = '-';
  o = two_digits(o + 5, month);
  *o++ = '-';
  o = two_digits(o, day);
  *o++ = 'T';
  o = two_digits(o, rest / 3600);
  *o++ = ':';
  o = two_digits(o, rest / 60 % 60);
  *o++ = ':';
  return two_digits(o, rest % 60);
}

/* The cluster's JSON value for a line without `cluster=`: `null`, or lmod-parse's --cluster as a string of at most 66
 * bytes, set by the caller (room for copy's 8-byte words). */
u8 default_cluster[80] = "null";
u32 default_cluster_length = 4;

/* The last second converted, and its text (`YYYY-MM-DDTHH:MM:SS`, room for copy's 8-byte words). */
static u64 last_second = ~(u64)0;
static u8 last_iso[24];

/*
 * The line at p, if in the documented format, as NDJSON at o: returns the output's end and sets *newline to the line's
 * `\n` (a `\r` before it is not part of the line); 0 when it is not.
 */
static u8 *convert(const u8 *p, const u8 *e, u8 *o, const u8 **newline) {
  p = skip_header(p, e);
  if (!starts(p, e, "ModuleUsageTracking", 19)) return 0;
  p += 19;
  if (p < e && *p == '[') {
    const u8 *pid = ++p;
    while (p < e && digit(*p)) p++;
    if (p == pid || p >= e || *p != ']') return 0;
    p++;
  }
  if (!starts(p, e, ": user=", 7)) return 0;
  const u8 *user = p + 7, *user_end = value(user, e);
  if (!user_end || !starts(user_end, e, " module=", 8)) return 0;
  const u8 *module = user_end + 8, *module_end = value(module, e);
  if (!module_end || !starts(module_end, e, " path=", 6)) return 0;
  const u8 *path = module_end + 6, *path_end = value(path, e);
  if (!path_end || !starts(path_end, e, " host=", 6)) return 0;
  const u8 *host = path_end + 6, *host_end = value(host, e);
  if (!host_end) return 0;
  p = host_end;
  /* jobid= and userload= may stand before time= and after it; the first of each wins. */
  const u8 *job = 0, *job_end = 0;
  int bad = 0;
  if (starts(p, e, " jobid=", 7)) {
    job = p + 7;
    if (!(job_end = value(job, e))) return 0;
    p = job_end;
  }
  int load = userload(&p, e, &bad);
  if (bad || !starts(p, e, " time=", 6)) return 0;
  p += 6;
  const u8 *digits = p;
  u64 seconds = 0;
  while (p < e && digit(*p) && p - digits < 12) seconds = seconds * 10 + (u64)(*p++ - '0');
  if (p == digits || p - digits > 11 || p >= e || *p != '.') return 0;
  const u8 *fraction = ++p;
  for (int i = 0; i < 6; i++)
    if (p + i >= e || !digit(p[i])) return 0;
  p += 6;
  if (starts(p, e, " jobid=", 7)) {
    const u8 *later = p + 7, *later_end = value(later, e);
    if (!later_end) return 0;
    if (!job) job = later, job_end = later_end;
    p = later_end;
  }
  int later_load = userload(&p, e, &bad);
  if (bad) return 0;
  if (load < 0) load = later_load;
  const u8 *cluster = 0, *cluster_end = 0;
  if (starts(p, e, " cluster=", 9)) {
    cluster = p + 9;
    if (!(cluster_end = value(cluster, e))) return 0;
    p = cluster_end;
  }
  if (p < e && *p == '\r') p++;
  if (p >= e || *p != '\n') return 0;
  *newline = p;

  const u8 *slash = 0;
  for (const u8 *q = module; q < module_end; q++)
    if (*q == '/') slash = q;
  o = PUT(o, LAYOUT_TIME "\"");
  /* Consecutive lines mostly share their second: its text is kept (64-bit division is slow in WebAssembly). */
  if (seconds != last_second) {
    last_second = seconds;
    iso_second(last_iso, seconds);
  }
  o = copy(o, last_iso, last_iso + 19);
  *o++ = '.';
  o = copy(o, fraction, fraction + 6);
  o = PUT(o, "Z\"" LAYOUT_USER "\"");
  o = copy(o, user, user_end);
  o = PUT(o, "\"" LAYOUT_MODULE "\"");
  o = copy(o, module, module_end);
  o = PUT(o, "\"" LAYOUT_NAME "\"");
  o = copy(o, module, slash ? slash : module_end);
  o = PUT(o, "\"" LAYOUT_VERSION);
  if (slash) {
    *o++ = '"';
    o = copy(o, slash + 1, module_end);
    *o++ = '"';
  } else {
    o = PUT(o, "null");
  }
  o = PUT(o, LAYOUT_PATH "\"");
  o = copy(o, path, path_end);
  o = PUT(o, "\"" LAYOUT_HOST "\"");
  o = copy(o, host, host_end);
  o = PUT(o, "\"" LAYOUT_JOBID);
  if (job) {
    *o++ = '"';
    o = copy(o, job, job_end);
    *o++ = '"';
  } else {
    o = PUT(o, "null");
  }
  o = PUT(o, LAYOUT_USERLOAD);
  o = load == 1 ? PUT(o, "true") : load == 0 ? PUT(o, "false") : PUT(o, "null");
  o = PUT(o, LAYOUT_CLUSTER);
  if (cluster) {
    *o++ = '"';
    o = copy(o, cluster, cluster_end);
    *o++ = '"';
  } else {
    o = copy(o, default_cluster, default_cluster + default_cluster_length);
  }
  return PUT(o, "}\n");
}

/* What the last scan() converted: the end of its output and how many lines. */
u32 scan_output_end;
u32 scan_lines;

/*
 * Converts the complete lines of [in, end) one after another, writing NDJSON from out, until a line that is not in the
 * documented format or is longer than max_line bytes: returns where that line (or the unfinished last line) starts. A
 * line's NDJSON is at most 2 x its length + 240 bytes (with a default cluster); the caller gives out_end - out >= 6 x (end -
 * in) + 256, since no documented line is shorter than 60 bytes.
 */
u32 scan(u32 in, u32 end, u32 out, u32 out_end, u32 max_line) {
  const u8 *p = (const u8 *)in, *e = (const u8 *)end;
  u8 *o = (u8 *)out;
  u32 lines = 0;
  if (!value_table_ready) init_value_table();
  while (p < e && (u32)(out_end - (u32)o) >= 6 * (u32)(e - p) + 256) {
    const u8 *newline;
    u8 *next = convert(p, e, o, &newline);
    if (!next || (u32)(newline - p) - (newline[-1] == '\r') > max_line) break;
    o = next;
    lines++;
    p = newline + 1;
  }
  scan_output_end = (u32)o;
  scan_lines = lines;
  return (u32)p;
}
