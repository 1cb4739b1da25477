/**
 * Seeded, bounded mutation of real inputs: a small PRNG (mulberry32) so a
 * failing case is replayed from its seed, and mutators on JSON trees, base64
 * fields (the bytes inside) and raw text.
 */
export type Random = () => number;

export function prng(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
export const int = (random: Random, below: number): number => Math.floor(random() * below);

/** Case counts: the CI default, more with SIGSTORE_FUZZ_CASES (e.g. 200000). */
export function caseCount(defaultCount: number, share: number): number {
  const total = Number(process.env.SIGSTORE_FUZZ_CASES ?? 0);
  return total > 0 ? Math.round(total * share) : defaultCount;
}

export const FUZZ_SEED = Number(process.env.SIGSTORE_FUZZ_SEED ?? 20261125);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonPath = (string | number)[];

/** Every path to a node of the tree (the root excluded). */
export function paths(node: Json, prefix: JsonPath = []): JsonPath[] {
  if (node === null || typeof node !== 'object') return [];
  const entries: [string | number, Json][] = Array.isArray(node) ? node.map((value, index) => [index, value]) : Object.entries(node);
  return entries.flatMap(([key, value]) => [[...prefix, key], ...paths(value, [...prefix, key])]);
}

function parentOf(root: Json, path: JsonPath): any {
  return path.slice(0, -1).reduce((node: any, key) => node[key], root);
}

const BASE64 = /^[A-Za-z0-9+/]{16,}={0,2}$/;

/** One byte of the decoded content changed (flip, set to 0/0xff, or the value truncated). */
function mutateBytes(random: Random, bytes: Buffer): Buffer {
  if (bytes.length === 0) return Buffer.from([int(random, 256)]);
  const copy = Buffer.from(bytes);
  const at = int(random, copy.length);
  switch (int(random, 4)) {
    case 0:
      copy[at] ^= 1 << int(random, 8);
      return copy;
    case 1:
      copy[at] = pick(random, [0, 0x7f, 0x80, 0xff]);
      return copy;
    case 2:
      return copy.subarray(0, at);
    default:
      return Buffer.concat([copy.subarray(0, at), Buffer.from([int(random, 256)]), copy.subarray(at)]);
  }
}

function mutateString(random: Random, value: string): string {
  if (BASE64.test(value) && random() < 0.8) return mutateBytes(random, Buffer.from(value, 'base64')).toString('base64');
  if (/^\d+$/.test(value) && random() < 0.5) return pick(random, [String(BigInt(value) + 1n), String(BigInt(value) - 1n), '-1', '0', '99999999999999999999', ` ${value}`, `${value}.5`]);
  if (value.length === 0) return pick(random, ['x', ' ', '\u0000']);
  const at = int(random, value.length);
  switch (int(random, 4)) {
    case 0:
      return value.slice(0, at) + String.fromCharCode(value.charCodeAt(at) ^ (1 << int(random, 7))) + value.slice(at + 1);
    case 1:
      return value.slice(0, at);
    case 2:
      return value.toUpperCase();
    default:
      return value + pick(random, ['/', '@', '%2f', '?x=1', '\n', ' ']);
  }
}

const REPLACEMENTS: Json[] = [null, 0, -1, 1.5, true, '', 'x', [], {}, [null], { a: 1 }, '9'.repeat(400), 2 ** 53];

/** A deep copy of `root` with one structural or value mutation; `describe` says what, for a report. */
export function mutateJson(random: Random, root: Json): { mutated: Json; description: string } {
  const mutated = JSON.parse(JSON.stringify(root)) as Json;
  const all = paths(mutated);
  if (all.length === 0) return { mutated: pick(random, REPLACEMENTS), description: 'root replaced by a literal' };
  const path = pick(random, all);
  const parent = parentOf(mutated, path);
  const key = path[path.length - 1];
  const where = path.join('.');
  const value = parent[key];
  const kind = int(random, 10);
  if (kind < 5 && typeof value === 'string') {
    parent[key] = mutateString(random, value);
    return { mutated, description: `string at ${where}` };
  }
  if (kind < 6) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return { mutated, description: `deleted ${where}` };
  }
  if (kind < 7 && Array.isArray(parent)) {
    parent.push(JSON.parse(JSON.stringify(value)));
    return { mutated, description: `duplicated ${where}` };
  }
  if (kind < 8) {
    const other = pick(random, all);
    const otherParent = parentOf(mutated, other);
    parent[key] = JSON.parse(JSON.stringify(otherParent?.[other[other.length - 1]] ?? null));
    return { mutated, description: `${where} replaced by the value at ${other.join('.')}` };
  }
  if (kind < 9 && !Array.isArray(parent)) {
    parent[pick(random, ['extra', '__proto__', 'constructor', `${String(key)}X`])] = pick(random, REPLACEMENTS);
    return { mutated, description: `key added next to ${where}` };
  }
  parent[key] = pick(random, REPLACEMENTS);
  return { mutated, description: `${where} replaced by a literal` };
}

/** Raw text mutation: a byte flipped, a span deleted or duplicated, a line dropped. */
export function mutateText(random: Random, text: string): string {
  const at = int(random, text.length);
  switch (int(random, 5)) {
    case 0:
      return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ (1 << int(random, 7))) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + text.slice(at + 1 + int(random, 16));
    case 2:
      return text.slice(0, at) + text.slice(at, at + int(random, 40)) + text.slice(at);
    case 3: {
      const lines = text.split('\n');
      lines.splice(int(random, lines.length), 1);
      return lines.join('\n');
    }
    default:
      return text.slice(0, at) + pick(random, ['\t', ': ', '- ', '{', ']', '"', "'", '*', '&a ', '!!binary ', '<<: ', '\n  ']) + text.slice(at);
  }
}
