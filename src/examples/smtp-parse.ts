// SMTP argument parsing for the SMTP example: paths (`<addr> PARAMS`) and ESMTP parameters.

/**
 * Split an SMTP path argument into the address and what follows it: `<addr> PARAMS` or
 * `addr PARAMS`, with quoted local parts (`"Fred Blogs"@example.com`) kept whole.
 */
export function parsePath(arg: string): { address: string; rest: string } | null {
  const s = arg.trimStart();
  const angled = s.startsWith('<');
  let i = angled ? 1 : 0;
  let inQuote = false;
  for (; i < s.length; i++) {
    const ch = s[i]!;
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuote = false;
    } else if (ch === '"') {
      inQuote = true;
    } else if (angled ? ch === '>' : /\s/.test(ch)) {
      break;
    } else if (angled && ch === '<') {
      return null;
    }
  }
  if (inQuote) return null;
  if (angled) {
    if (i >= s.length) return null; // no closing '>'
    const inner = s.slice(1, i).trim();
    return { address: inner === '' ? '<>' : inner, rest: s.slice(i + 1).trim() };
  }
  return { address: s.slice(0, i), rest: s.slice(i).trim() };
}

/** ESMTP parameters (`KEY=VALUE` or `KEY`) as a map, or null if any is malformed (RFC 1869). */
export function parseParams(params: string[]): Map<string, string | true> | null {
  const out = new Map<string, string | true>();
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? true : p.slice(eq + 1);
    if (!/^[A-Za-z0-9]+$/.test(key) || value === '') return null;
    out.set(key, value);
  }
  return out;
}
