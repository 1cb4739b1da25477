/**
 * The fast reader of sigstore.lock must decide exactly as the YAML reader:
 * same lock for every text the serializer writes, and null (YAML reader)
 * for anything else.
 */
import { describe, expect, it } from 'vitest';
import { readCanonicalPinLock } from '../../src/pins/canonical';
import { emptyLock, parsePinLock, serializePinLock, type PackagePin, type PinLock } from '../../src/pins';
import { ErrorCodes } from '../../src/errors';

function lockOf(...pins: PackagePin[]): PinLock {
  const lock = emptyLock();
  for (const pin of pins) lock.packages.set(pin.name, pin);
  return lock;
}

const integrity = (seed: string) => `sha512-${Buffer.from(seed.padEnd(64, seed)).toString('base64')}`;

const SAMPLES: PinLock[] = [
  emptyLock(),
  lockOf(
    {
      name: '@acme/widget',
      identity: { issuer: 'https://token.actions.githubusercontent.com', repository: 'https://github.com/acme/widget', repositoryId: '42', ownerId: '7', workflow: '.github/workflows/release.yml', runner: 'github-hosted' },
      versions: new Map([
        ['1.0.0', { integrity: integrity('a'), provenance: true }],
        ['1.1.0-beta.1+build "7"', { integrity: integrity('b'), provenance: false }],
      ]),
    },
    { name: 'left-pad', versions: new Map([['1.3.0', { integrity: integrity('c'), provenance: false }]]) },
    { name: 'zed', identity: { repository: 'https://gitlab.com/z/zed' }, reason: 'moved to "GitLab"\nreviewed: ü \\ ok', pendingUpdate: true, versions: new Map([['0.1.0', { integrity: integrity('d'), provenance: true }]]) },
  ),
];

/** The YAML reader's answer: a trailing comment is not what the serializer writes, so the fast reader passes. */
const viaYaml = (text: string) => parsePinLock(`${text}# read through YAML\n`).lock;

describe('sigstore.lock fast reader', () => {
  SAMPLES.forEach((lock, index) => {
    it(`reads serialized lock ${index} exactly as the YAML reader does`, () => {
      const text = serializePinLock(lock);
      const fast = readCanonicalPinLock(text);
      expect(fast).not.toBeNull();
      expect(fast).toEqual(viaYaml(text));
      expect(fast).toEqual(lock);
      expect(parsePinLock(text).lock).toEqual(lock);
    });
  });

  const text = serializePinLock(SAMPLES[1]);
  const edits: Array<[string, string, string | null]> = [
    ['an empty identity value', '"https://github.com/acme/widget"', '""'],
    ['an integrity that is not sha512', `integrity: "${integrity('c')}"`, 'integrity: "sha1-abc"'],
    ['an identity field under provenance: false', '"left-pad":\n  provenance: false', '"left-pad":\n  provenance: false\n  repository: "https://github.com/x/y"'],
    ['a package block twice', '"zed":', `"left-pad":\n  provenance: false\n  versions:\n    "9.9.9": { integrity: "${integrity('e')}", provenance: false }\n\n"zed":`],
    ['a package without versions', '"zed":', '"empty":\n  provenance: false\n  versions:\n\n"zed":'],
  ];
  for (const [label, from, to] of edits) {
    it(`leaves ${label} to the YAML reader, which refuses it`, () => {
      const edited = text.replace(from, to!);
      expect(edited).not.toBe(text);
      expect(readCanonicalPinLock(edited)).toBeNull();
      expect(() => parsePinLock(edited)).toThrow(expect.objectContaining({ code: ErrorCodes.PIN_LOCK_INVALID }));
    });
  }

  for (const [label, from, to] of [
    ['other spacing and a comment', '  provenance: false', '  provenance:   false   # reviewed'],
    ['a field the reader does not know', '  pendingUpdate: true', '  pendingUpdate: true\n  color: "red"'],
  ]) {
    it(`leaves a hand-edited but valid lock (${label}) to the YAML reader, with the same result`, () => {
      const edited = text.replace(from, to);
      expect(edited).not.toBe(text);
      expect(readCanonicalPinLock(edited)).toBeNull();
      expect(parsePinLock(edited).lock).toEqual(SAMPLES[1]);
    });
  }
});
