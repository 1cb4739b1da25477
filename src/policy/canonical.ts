/**
 * A policy in the block layout `policy init` writes, read without a YAML
 * parser: the policy it writes for a tree of signed packages holds a rule per
 * signing repository, and the `yaml` parser takes ~0.5-1 ms per KB of it on
 * every install that has not kept the parsed document (every fresh CI runner).
 *
 * Accepted only when every line, comments and blank lines left out, is in
 * that layout: block mappings and sequences two spaces a level, plain keys,
 * double-quoted strings without escapes, lowercase words, small integers,
 * `true`/`false`, `[]`, `{}` and one-line `{ key: "value" }` maps, in
 * printable ASCII. Such text means to YAML what it means here. Anything else
 * (other quoting or indentation, anchors, tags, block scalars, flow lists, a
 * duplicate key, a backslash, a tab, a single quote, another line break)
 * returns null and goes to the YAML reader, which validates and explains it,
 * as the pin lock's reader does (src/pins/canonical.ts). A test holds 4,000
 * random one-character changes of a `policy init` policy to the YAML reader.
 */

type Value = string | number | boolean | Value[] | { [key: string]: Value };

/** Thrown inside the reader for text outside the layout; never escapes it. */
class NotCanonical extends Error {}

interface Line {
  indent: number;
  text: string;
}

const KEY = '[A-Za-z_][A-Za-z0-9_]*';
const ENTRY = new RegExp(`^(${KEY}):(?: (.+))?$`);
/** Plain words YAML reads as strings (its core schema: not null, true or false). */
const WORD = /^[a-z][a-z0-9-]*$/;
const NOT_STRINGS = new Set(['null', 'true', 'false']);
const INTEGER = /^(?:0|[1-9][0-9]{0,8})$/;
const QUOTED = /^"[^"\\]*"$/;
const FLOW_ENTRY = new RegExp(`^(${KEY}): ("[^"\\\\]*")$`);
/** Keys the YAML reader would not give back as the same own string key. */
const RESERVED_KEYS = new Set(['true', 'false', 'null', '__proto__']);
/** Nesting deeper than this is not a policy (validation refuses past 32 levels): left to the YAML reader. */
const MAX_DEPTH = 40;
/** Line breaks other than \n (YAML ends a comment at a lone \r), or characters that could be one to some reader. */
const OTHER_BREAKS = /[\r\u0085\u2028\u2029]/;
/** Content (not comments) is printable ASCII without tab, backslash or single quote. */
const OUTSIDE_CONTENT = /[^\x20-\x7e]|[\\']/;

interface Reader {
  lines: Line[];
  at: number;
}

export function readCanonicalPolicy(text: string): unknown | null {
  try {
    if (OTHER_BREAKS.test(text)) return null;
    const reader: Reader = { lines: contentLines(text), at: 0 };
    if (reader.lines.length === 0 || reader.lines[0].indent !== 0) return null;
    const document = readBlock(reader, 0, 0);
    // Every line read, into a mapping: anything left over (another indentation) is not the layout.
    return reader.at === reader.lines.length && !Array.isArray(document) && typeof document === 'object' ? document : null;
  } catch (error) {
    if (error instanceof NotCanonical) return null;
    throw error;
  }
}

/** The lines that carry content, each without its comment and trailing spaces. */
function contentLines(text: string): Line[] {
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const content = withoutComment(raw).replace(/ +$/, '');
    if (content === '') continue;
    if (OUTSIDE_CONTENT.test(content)) throw new NotCanonical();
    const text = content.replace(/^ +/, '');
    lines.push({ indent: content.length - text.length, text });
  }
  return lines;
}

/** The line up to its comment: a `#` at the start or after a space, outside a double-quoted string. */
function withoutComment(line: string): string {
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (char === '"') quoted = !quoted;
    else if (char === '#' && !quoted && (index === 0 || line[index - 1] === ' ')) return line.slice(0, index);
  }
  return line;
}

/** The block (mapping or sequence) whose lines start at `indent`. */
function readBlock(reader: Reader, indent: number, depth: number): Value {
  if (depth > MAX_DEPTH) throw new NotCanonical();
  const first = reader.lines[reader.at];
  if (!first || first.indent !== indent) throw new NotCanonical();
  return first.text.startsWith('- ') ? readSequence(reader, indent, depth) : readMapping(reader, indent, depth, first.text);
}

function readSequence(reader: Reader, indent: number, depth: number): Value[] {
  const items: Value[] = [];
  for (let line = reader.lines[reader.at]; line?.indent === indent && line.text.startsWith('- '); line = reader.lines[reader.at]) {
    const item = line.text.slice(2);
    if (ENTRY.test(item)) {
      // A mapping item: its first entry on the dash's line, the others two columns right of the dash.
      items.push(readMapping(reader, indent + 2, depth + 1, item));
    } else {
      reader.at++;
      items.push(readScalar(item));
    }
  }
  return items;
}

/** A mapping at `indent`; its first line's text is `firstText` (after the dash for a sequence item). */
function readMapping(reader: Reader, indent: number, depth: number, firstText: string): { [key: string]: Value } {
  const mapping: { [key: string]: Value } = {};
  let text: string | undefined = firstText;
  while (text !== undefined) {
    const entry = ENTRY.exec(text);
    if (!entry) throw new NotCanonical();
    const [, key, value] = entry;
    if (RESERVED_KEYS.has(key) || Object.hasOwn(mapping, key)) throw new NotCanonical();
    reader.at++;
    mapping[key] = value === undefined ? readBlock(reader, indent + 2, depth + 1) : readScalar(value);
    const next = reader.lines[reader.at];
    text = next?.indent === indent && !next.text.startsWith('- ') ? next.text : undefined;
  }
  return mapping;
}

function readScalar(text: string): Value {
  if (QUOTED.test(text)) return text.slice(1, -1);
  if (text === 'true' || text === 'false') return text === 'true';
  if (INTEGER.test(text)) return Number(text);
  if (WORD.test(text) && !NOT_STRINGS.has(text)) return text;
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (text.startsWith('{ ') && text.endsWith(' }')) {
    const mapping: { [key: string]: string } = {};
    for (const part of text.slice(2, -2).split(', ')) {
      const entry = FLOW_ENTRY.exec(part);
      if (!entry || RESERVED_KEYS.has(entry[1]) || Object.hasOwn(mapping, entry[1])) throw new NotCanonical();
      mapping[entry[1]] = entry[2].slice(1, -1);
    }
    return mapping;
  }
  throw new NotCanonical();
}
