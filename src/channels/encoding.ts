// Text → bytes for AsyncChat, as Python's str.encode(name) does it: Python's codec names and
// aliases (looked up as codecs.lookup does), and strict encoding. Node's own encoders are
// lenient where Python's raise (Buffer.from('€', 'latin1') writes 0xAC, a lone surrogate
// becomes EF BF BD in UTF-8), so a character the codec cannot represent throws instead.
import { rangeError } from '../validate.js';

/** A codec Node can do, under the name Python reports in its UnicodeEncodeError. */
export type CodecName = 'utf-8' | 'latin-1' | 'ascii' | 'utf-16-le' | 'utf-16-be';

// Python 3.11's encodings.aliases for these codecs, plus each codec's module name (which
// codecs.lookup also finds), all in normalized form (see normalize below).
const ALIASES: Record<CodecName, readonly string[]> = {
  'utf-8': ['utf_8', 'u8', 'utf', 'utf8', 'utf8_ucs2', 'utf8_ucs4', 'cp65001'],
  'latin-1': ['latin_1', '8859', 'cp819', 'csisolatin1', 'ibm819', 'iso8859', 'iso8859_1', 'iso_8859_1', 'iso_8859_1_1987', 'iso_ir_100', 'l1', 'latin', 'latin1'],
  ascii: ['ascii', '646', 'ansi_x3.4_1968', 'ansi_x3.4_1986', 'ansi_x3_4_1968', 'cp367', 'csascii', 'ibm367', 'iso646_us', 'iso_646.irv_1991', 'iso_ir_6', 'us', 'us_ascii'],
  'utf-16-le': ['utf_16_le', 'utf_16le', 'unicodelittleunmarked'],
  'utf-16-be': ['utf_16_be', 'utf_16be', 'unicodebigunmarked'],
};

const LOOKUP = new Map<string, CodecName>();
for (const [codec, names] of Object.entries(ALIASES) as [CodecName, readonly string[]][]) {
  for (const n of names) LOOKUP.set(n, codec);
}

/** Every name `AsyncChat.encoding` accepts (in normalized form: any case, `-`/space for `_`). */
export const CODEC_NAMES: Readonly<Record<CodecName, readonly string[]>> = ALIASES;

// Python's encodings.normalize_encoding after codecs.lookup's lower-casing: each run of
// characters other than letters, digits and '.' becomes one '_', none at either end, and
// non-ASCII letters are dropped.
function normalize(name: string): string {
  let out = '';
  let punct = false;
  for (const c of name.toLowerCase()) {
    if (c === '.' || /[\p{L}\p{N}]/u.test(c)) {
      if (punct && out.length > 0) out += '_';
      if (c.charCodeAt(0) < 0x80) out += c;
      punct = false;
    } else {
      punct = true;
    }
  }
  return out;
}

// One-entry cache: a channel's encoding rarely changes, and push() looks it up every time.
let lastName: unknown;
let lastCodec: CodecName = 'latin-1';

/**
 * The codec a Python codec name (or alias) means. Anything else, including Node-only names
 * ('binary', 'ucs2', 'hex', 'base64'), is a RangeError (ERR_OUT_OF_RANGE) listing the accepted names.
 */
export function lookupCodec(name: unknown): CodecName {
  if (name === lastName) return lastCodec;
  if (typeof name === 'string') {
    const norm = normalize(name);
    const codec = LOOKUP.get(norm) ?? LOOKUP.get(norm.replace(/\./g, '_'));
    if (codec !== undefined) {
      lastName = name;
      lastCodec = codec;
      return codec;
    }
  }
  const shown = typeof name === 'string' ? JSON.stringify(name) : String(name);
  const list = (Object.entries(ALIASES) as [CodecName, readonly string[]][])
    .map(([c, names]) => `${c} (${names.join(', ')})`).join('; ');
  throw rangeError(`encoding ${shown} is not supported; set encoding to a Python codec name such as 'latin1' or 'utf8' (case, '-' and '_' do not matter). Accepted: ${list}`);
}

/**
 * Python's UnicodeEncodeError: `object` could not be encoded with `encoding` because of the
 * characters `object.slice(start, end)`. **(beyond)** `start`/`end` index the JavaScript
 * string (UTF-16 code units), so a character outside the BMP spans two.
 */
export class UnicodeEncodeError extends RangeError {
  /** Always 'ERR_UNICODE_ENCODE'. */
  readonly code = 'ERR_UNICODE_ENCODE';
  constructor(
    /** The codec's name as Python reports it ('latin-1', 'ascii', 'utf-8', …). */
    readonly encoding: string,
    /** The string being encoded. */
    readonly object: string,
    /** Where the first character that cannot be encoded starts. */
    readonly start: number,
    /** Where that run of such characters ends. */
    readonly end: number,
    /** Why ('ordinal not in range(256)', 'surrogates not allowed'). */
    readonly reason: string,
  ) {
    super(encodeErrorMessage(encoding, object, start, end, reason));
    this.name = 'UnicodeEncodeError';
  }
}

// Python's wording, with its escapes for the character: \xNN, \uNNNN or \UNNNNNNNN.
function encodeErrorMessage(encoding: string, object: string, start: number, end: number, reason: string): string {
  const bad = object.slice(start, end);
  const cp = bad.codePointAt(0) ?? 0;
  const single = [...bad].length === 1;
  const hint = ` (pass a Buffer to send bytes as they are, or set encoding to 'utf-8')`;
  if (single) {
    const esc = cp <= 0xff ? `\\x${hex(cp, 2)}` : cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    return `'${encoding}' codec can't encode character '${esc}' in position ${start}: ${reason}${hint}`;
  }
  return `'${encoding}' codec can't encode characters in position ${start}-${end - 1}: ${reason}${hint}`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

const NOT_LATIN1 = /[^\x00-\xff]+/;
const NOT_ASCII = /[^\x00-\x7f]+/;
const ANY_SURROGATE = /[\ud800-\udfff]/;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATES = /(?:[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])+/;

function check(text: string, codec: CodecName): void {
  let m: RegExpExecArray | null = null;
  let reason = '';
  if (codec === 'latin-1') {
    m = NOT_LATIN1.exec(text);
    reason = 'ordinal not in range(256)';
  } else if (codec === 'ascii') {
    m = NOT_ASCII.exec(text);
    reason = 'ordinal not in range(128)';
  } else if (ANY_SURROGATE.test(text)) {
    m = LONE_SURROGATES.exec(text); // null when every surrogate is half of a pair
    reason = 'surrogates not allowed';
  }
  if (m !== null) throw new UnicodeEncodeError(codec, text, m.index, m.index + m[0].length, reason);
}

/**
 * `text` encoded as Python's `text.encode(encoding)` would: the same bytes, or a
 * UnicodeEncodeError where Python raises one. An unknown codec name is a RangeError.
 */
export function encodeText(text: string, encoding: unknown): Buffer {
  const codec = lookupCodec(encoding);
  check(text, codec);
  switch (codec) {
    case 'latin-1': return Buffer.from(text, 'latin1');
    case 'ascii': return Buffer.from(text, 'latin1'); // checked: every character is < 0x80
    case 'utf-8': return Buffer.from(text, 'utf8');
    case 'utf-16-le': return Buffer.from(text, 'utf16le');
    case 'utf-16-be': return Buffer.from(text, 'utf16le').swap16();
  }
}
