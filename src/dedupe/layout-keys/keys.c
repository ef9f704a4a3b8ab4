/*
 * lmod-dedupe's fast path, compiled to WebAssembly (scripts/build-wasm.sh): for each line of a buffer in lmod-parse's
 * exact layout, with plain printable-ASCII strings, the 64-bit hash of its key, computed exactly as KeyHasher
 * (src/dedupe/hash.ts) computes it from the values JSON.parse gives. Any other line (other field order, escapes,
 * non-ASCII, numbers, `extra`, CRLF, an impossible time) is marked for the caller, who reads it the general way.
 * test/unit/dedupe-keys-wasm.test.ts holds both to each other.
 */
#include <stdint.h>

#include "../../wasm/record-layout.h"

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

/* The fields of lmod-parse's layout, in its order, as a key names them by index: what comes before each value. */
static const char PREFIXES[LAYOUT_FIELD_COUNT][16] = LAYOUT_PREFIXES;
static u8 PREFIX_LENGTHS[LAYOUT_FIELD_COUNT];

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

static u64 load64(const void *p) {
  u64 v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

/*
 * Whether field f's prefix (8 to 12 bytes) is at q, compared a word at a time. It may read 16 bytes from q, past the
 * line's end: the caller's memory has room after the input, and a prefix holds no `\n`, so it never matches across a
 * line's end.
 */
static int prefix_at(const u8 *q, int f) {
  const char *t = PREFIXES[f];
  u32 n = PREFIX_LENGTHS[f];
  u64 tail = n == 8 ? 0 : (load64(q + 8) ^ load64(t + 8)) & ((1ull << (8 * (n - 8))) - 1);
  return ((load64(q) ^ load64(t)) | tail) == 0;
}

/* The bytes a plain string holds: printable ASCII but `"` and `\\`. Not `\n`, so a scan stops at the line's end. */
static u8 plain[256];

/* A JSON value of the layout at p: a string of printable ASCII without `"` or `\`, or a literal. */
static const u8 *read_value(const u8 *p, const u8 *e, struct value *v) {
  if (p < e && *p == '"') {
    const u8 *q = ++p;
    while (plain[*q]) q++;
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
static const char TIME_LAYOUT[] = "0000-00-00T00:00:00.000000Z";
/* The layout as four overlapping words (bytes 0, 8, 16 and 19 on), and per byte what to add so that a wrong byte sets its top bit. */
static const u8 TIME_WORDS[4] = {0, 8, 16, 19};
static u64 time_template[4], time_add[4];

static int tables_ready;

static void init_tables(void) {
  for (int f = 0; f < LAYOUT_FIELD_COUNT; f++)
    while (PREFIXES[f][PREFIX_LENGTHS[f]]) PREFIX_LENGTHS[f]++;
  for (int c = 0x20; c <= 0x7e; c++) plain[c] = c != '"' && c != '\\';
  for (int w = 0; w < 4; w++) {
    for (int i = 0; i < 8; i++) {
      u8 c = (u8)TIME_LAYOUT[TIME_WORDS[w] + i];
      time_template[w] |= (u64)c << (8 * i);
      /* A digit byte XOR '0' is 0-9, and above 9 wrong; any other byte must be equal. */
      time_add[w] |= (u64)(c == '0' ? 0x7f - 9 : 0x7f) << (8 * i);
    }
  }
  tables_ready = 1;
}

static int valid_time(const struct value *v) {
  if (v->kind != STRING || v->end - v->start != 27) return 0;
  /* The value is printable ASCII, so each byte XOR its template byte is below 0x80 and the additions do not carry. */
  u64 wrong = 0;
  for (int w = 0; w < 4; w++) wrong |= ((load64(v->start + TIME_WORDS[w]) ^ time_template[w]) + time_add[w]) & 0x8080808080808080ull;
  if (wrong) return 0;
  int year = digits(v->start, 4), month = digits(v->start + 5, 2), day = digits(v->start + 8, 2);
  int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  int days = month == 2 ? 28 + leap : month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > days) return 0;
  return digits(v->start + 11, 2) <= 23 && digits(v->start + 14, 2) <= 59 && digits(v->start + 17, 2) <= 59;
}

/* KeyHasher's two lanes, and its key (set by the caller through hash_key()): the lanes' start and the end's mix. */
static u32 lane_a, lane_b;
static u32 key_words[4];

u32 hash_key(void) { return (u32)key_words; }

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
 * For each complete line of [in, end) (each ends with `\n`, which also ends every scan of a string before end), four
 * words at results: the offset of its `\n` from origin, 1 when the line is in the layout (then the hash follows) else 0,
 * and the hash's high and low words. Stops after max_lines lines; returns how many it did. Reads up to 16 bytes past
 * end.
 */
u32 scan(u32 origin, u32 in, u32 end, u32 results, u32 max_lines) {
  const u8 *p = (const u8 *)in, *e = (const u8 *)end;
  u32 *out = (u32 *)results;
  u32 lines = 0;
  if (!tables_ready) init_tables();
  while (p < e && lines < max_lines) {
    const u8 *q = p;
    struct value values[LAYOUT_FIELD_COUNT];
    int ok = 1;
    for (int f = 0; ok && f < LAYOUT_FIELD_COUNT; f++) {
      ok = prefix_at(q, f);
      if (ok) q = read_value(q + PREFIX_LENGTHS[f], e, &values[f]);
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
      lane_a = key_words[0];
      lane_b = key_words[1];
      for (u32 i = 0; i < key_length; i++) {
        const struct value *v = &values[key[i]];
        if (v->kind == STRING) text(v->start, (u32)(v->end - v->start));
        else round_(v->kind == NUL ? 2 : v->kind == TRUE ? 3 : 4);
      }
      u32 a = fmix(lane_a ^ key_length ^ key_words[2]), b = fmix(lane_b ^ key_length ^ key_words[3]);
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
