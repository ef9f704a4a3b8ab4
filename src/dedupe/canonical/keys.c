/*
 * lmod-dedupe's fast path, compiled to WebAssembly (scripts/build-wasm.sh): for each line of
 * a buffer in lmod-parse's exact layout, with plain printable-ASCII strings, the 64-bit hash
 * of its key, computed exactly as KeyHasher (src/dedupe/hash.ts) computes it from the values
 * JSON.parse gives. Any other line (other field order, escapes, non-ASCII, numbers, `extra`,
 * CRLF, an impossible time) is marked for the caller, who reads it the general way.
 * test/dedupe-keys-wasm.test.ts holds both to each other.
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;

/* The fields of lmod-parse's layout, in its order; a key names them by index. */
static const char *const NAMES[9] = {"time", "user", "module", "name", "version", "path", "host", "jobid", "userload"};
static const u8 NAME_LENGTHS[9] = {4, 4, 6, 4, 7, 4, 4, 5, 8};

/* The key: field indices in key order. Set by the caller through key_fields() and key_length. */
static u8 key[16];
u32 key_length;

u32 key_fields(void) { return (u32)key; }

enum { STRING, NUL, TRUE, FALSE };

struct value {
  int kind;
  const u8 *start, *end;
};

static int starts(const u8 *p, const u8 *e, const char *text, u32 n) {
  if ((u32)(e - p) < n) return 0;
  for (u32 i = 0; i < n; i++)
    if (p[i] != (u8)text[i]) return 0;
  return 1;
}

/* A JSON value of the layout at p: a string of printable ASCII without `"` or `\`, or a literal. */
static const u8 *read_value(const u8 *p, const u8 *e, struct value *v) {
  if (p < e && *p == '"') {
    const u8 *q = ++p;
    while (q < e && *q >= 0x20 && *q <= 0x7e && *q != '"' && *q != '\\') q++;
    if (q >= e || *q != '"') return 0;
    v->kind = STRING, v->start = p, v->end = q;
    return q + 1;
  }
  if (starts(p, e, "null", 4)) return v->kind = NUL, p + 4;
  if (starts(p, e, "true", 4)) return v->kind = TRUE, p + 4;
  if (starts(p, e, "false", 5)) return v->kind = FALSE, p + 5;
  return 0;
}

static int digits(const u8 *p, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
  return v;
}

/* parseRecordTime of src/dedupe/time.ts: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, a real date and time. */
static int valid_time(const struct value *v) {
  static const char EXPECTED[] = "0000-00-00T00:00:00.000000Z";
  if (v->kind != STRING || v->end - v->start != 27) return 0;
  for (int i = 0; i < 27; i++) {
    u8 c = v->start[i];
    if (EXPECTED[i] == '0' ? c < '0' || c > '9' : c != (u8)EXPECTED[i]) return 0;
  }
  int year = digits(v->start, 4), month = digits(v->start + 5, 2), day = digits(v->start + 8, 2);
  int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  int days = month == 2 ? 28 + leap : month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > days) return 0;
  return digits(v->start + 11, 2) <= 23 && digits(v->start + 14, 2) <= 59 && digits(v->start + 17, 2) <= 59;
}

/* KeyHasher's two lanes. */
static u32 lane_a, lane_b;

static void round_(u32 k) {
  lane_a = ((lane_a << 5) | (lane_a >> 27)) ^ k;
  lane_a *= 0x9e3779b1u;
  lane_b = ((lane_b << 13) | (lane_b >> 19)) ^ k;
  lane_b *= 0x85ebca77u;
}

static u32 fmix(u32 h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

/* KeyHasher.text for a value whose characters all fit in a byte: four a round. */
static void text(const u8 *s, u32 n) {
  round_(1 | (n << 8));
  u32 i = 0;
  for (; i + 3 < n; i += 4) round_((u32)s[i] | (u32)s[i + 1] << 8 | (u32)s[i + 2] << 16 | (u32)s[i + 3] << 24);
  if (i < n) {
    u32 k = 0;
    for (u32 shift = 0; i < n; i++, shift += 8) k |= (u32)s[i] << shift;
    round_(k);
  }
}

/*
 * For each complete line of [in, end) (each ends with `\n`), four words at results: the
 * offset of its `\n` from origin, 1 when the line is in the layout (then the hash follows)
 * else 0, and the hash's high and low words. Stops after max_lines lines; returns how many
 * it did.
 */
u32 scan(u32 origin, u32 in, u32 end, u32 results, u32 max_lines) {
  const u8 *p = (const u8 *)in, *e = (const u8 *)end;
  u32 *out = (u32 *)results;
  u32 lines = 0;
  while (p < e && lines < max_lines) {
    const u8 *q = p;
    struct value values[9];
    int ok = q < e && *q++ == '{';
    for (int f = 0; ok && f < 9; f++) {
      ok = q < e && *q++ == (f == 0 ? '"' : ',');
      if (ok && f > 0) ok = q < e && *q++ == '"';
      ok = ok && starts(q, e, NAMES[f], NAME_LENGTHS[f]);
      if (ok) q += NAME_LENGTHS[f];
      ok = ok && starts(q, e, "\":", 2);
      if (ok) q = read_value(q + 2, e, &values[f]);
      ok = ok && q != 0;
    }
    ok = ok && q < e && *q == '}' && q + 1 < e && q[1] == '\n';
    ok = ok && valid_time(&values[0]) && values[1].kind == STRING && values[2].kind == STRING && values[3].kind == STRING;
    /* The line's end: found by the parse, or by looking for it. */
    const u8 *newline = ok ? q + 1 : p;
    while (newline < e && *newline != '\n') newline++;
    if (newline >= e) break;
    u32 high = 0, low = 0;
    if (ok) {
      lane_a = 0x3c6ef372u;
      lane_b = 0x1b873593u;
      for (u32 i = 0; i < key_length; i++) {
        const struct value *v = &values[key[i]];
        if (v->kind == STRING) text(v->start, (u32)(v->end - v->start));
        else round_(v->kind == NUL ? 2 : v->kind == TRUE ? 3 : 4);
      }
      u32 a = fmix(lane_a ^ key_length), b = fmix(lane_b ^ key_length);
      a += b;
      b += a;
      high = a;
      low = b ? b : high == 0 ? 1 : 0;
    }
    out[0] = (u32)newline - origin;
    out[1] = (u32)ok;
    out[2] = high;
    out[3] = low;
    out += 4;
    lines++;
    p = newline + 1;
  }
  return lines;
}
