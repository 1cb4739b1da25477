/**
 * The opt-in CI record key (SIGSTORE_RECORD_KEY): what it accepts, that
 * anything weaker is RECORD_KEY_INVALID without the value in the message, and
 * which key MACs and checks which records (record-files.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { readRecord, writeRecord } from '../../src/install/record-files';
import { parseRecordKey, RECORD_KEY_VARIABLE, takeRecordKeyVariable } from '../../src/install/record-key';
import { temporaryRecordKey } from '../../testkit/pipeline';

const scratch = temporaryRecordKey({ beforeAll, afterAll }, 'sigstore-record-key-');
/** The held value is process-wide: an empty value means "not set" (as GitHub passes a secret a fork may not read). */
const setKey = (value: string) => (process.env[RECORD_KEY_VARIABLE] = value);
afterEach(() => setKey(''));

const hexKey = () => randomBytes(32).toString('hex');
const base64urlKey = () => randomBytes(32).toString('base64url');

function refusal(value: string): SigstorePluginError {
  try {
    parseRecordKey(value);
  } catch (error) {
    return error as SigstorePluginError;
  }
  throw new Error(`accepted ${value}`);
}

describe('parseRecordKey', () => {
  it('accepts 32 random bytes as hex, base64url or padded base64, and derives a 32-byte MAC key', () => {
    const secret = randomBytes(32);
    for (const text of [secret.toString('hex'), secret.toString('hex').toUpperCase(), secret.toString('base64url'), secret.toString('base64'), `${randomBytes(48).toString('base64url')}\n`]) {
      const key = parseRecordKey(text);
      expect(key).toBeInstanceOf(Buffer);
      expect(key!.length).toBe(32);
      // Derived, not the secret itself.
      expect(key!.equals(secret)).toBe(false);
    }
    // Hex and base64 of the same bytes are the same secret.
    expect(parseRecordKey(secret.toString('hex'))!.equals(parseRecordKey(secret.toString('base64url'))!)).toBe(true);
    expect(parseRecordKey(hexKey())!.equals(parseRecordKey(hexKey())!)).toBe(false);
  });

  it('treats unset, empty and blank as not set', () => {
    expect(parseRecordKey(undefined)).toBeUndefined();
    expect(parseRecordKey('')).toBeUndefined();
    expect(parseRecordKey(' \n')).toBeUndefined();
  });

  it.each([
    ['62 hex digits (31 bytes)', randomBytes(31).toString('hex')],
    ['48 hex digits (24 bytes; not read as 36 bytes of base64)', randomBytes(24).toString('hex')],
    ['an odd number of hex digits', `${hexKey()}a`],
    ['42 base64url characters (31 bytes)', randomBytes(31).toString('base64url')],
    ['a password', 'correct horse battery staple'],
    ['a placeholder of one repeated digit', '0'.repeat(64)],
    ['a placeholder of a few repeated characters', 'abcd'.repeat(16)],
    ['a key with a character outside hex and base64', `${hexKey()}!`],
    ['the two base64 alphabets mixed', `${base64urlKey()}-+`],
  ])('refuses %s with RECORD_KEY_INVALID, naming the variable but not the value', (_label, value) => {
    const error = refusal(value);
    expect(error).toBeInstanceOf(SigstorePluginError);
    expect(error.code).toBe(ErrorCodes.RECORD_KEY_INVALID);
    expect(error.message).toContain(RECORD_KEY_VARIABLE);
    expect(error.message).not.toContain(value.trim());
    expect(error.message).not.toContain(value.trim().slice(0, 12));
  });
});

describe('takeRecordKeyVariable', () => {
  it('moves the variable out of the environment it is given and holds its value', () => {
    const env: NodeJS.ProcessEnv = { [RECORD_KEY_VARIABLE]: 'held-value', OTHER: 'kept' };
    expect(takeRecordKeyVariable(env)).toBe('held-value');
    expect(env).toEqual({ OTHER: 'kept' });
    // Held for later calls; a later value replaces it.
    expect(takeRecordKeyVariable({})).toBe('held-value');
    expect(takeRecordKeyVariable({ [RECORD_KEY_VARIABLE]: '' })).toBe('');
  });
});

describe('which key MACs and checks the records', () => {
  const file = (name: string) => join(scratch.folder(), name);

  it('a record written under a CI key is read back under that key only', async () => {
    const key = hexKey();
    setKey(key);
    expect(await writeRecord(file('ci.json'), { verified: 'yes' })).toBe(true);
    expect(process.env[RECORD_KEY_VARIABLE]).toBeUndefined();
    expect(readFileSync(file('ci.json'), 'utf8')).not.toContain(key);
    expect(await readRecord(file('ci.json'))).toEqual({ verified: 'yes' });
    // The same secret in base64url: the same key.
    setKey(Buffer.from(key, 'hex').toString('base64url'));
    expect(await readRecord(file('ci.json'))).toEqual({ verified: 'yes' });
    // Another CI key (another repository's secret, a rotated one): a miss.
    setKey(hexKey());
    expect(await readRecord(file('ci.json'))).toBeUndefined();
    // No CI key (a job without the secret): the per-user key, a miss.
    setKey('');
    expect(await readRecord(file('ci.json'))).toBeUndefined();
  });

  it("a record written under the per-user key does not count under a CI key (a cache an untrusted job wrote without the secret)", async () => {
    expect(await writeRecord(file('user.json'), { verified: 'yes' })).toBe(true);
    expect(await readRecord(file('user.json'))).toEqual({ verified: 'yes' });
    setKey(hexKey());
    expect(await readRecord(file('user.json'))).toBeUndefined();
  });

  it("records about this machine's folders keep the per-user key whatever the CI key", async () => {
    setKey(hexKey());
    expect(await writeRecord(file('machine.json'), { linkedAtMs: 1 }, { machine: true })).toBe(true);
    setKey(hexKey());
    expect(await readRecord(file('machine.json'), { machine: true })).toEqual({ linkedAtMs: 1 });
    expect(await readRecord(file('machine.json'))).toBeUndefined();
    setKey('');
    expect(await readRecord(file('machine.json'), { machine: true })).toEqual({ linkedAtMs: 1 });
  });

  it('an unusable CI key fails reads and writes with RECORD_KEY_INVALID (never the per-user key instead)', async () => {
    expect(await writeRecord(file('weak.json'), { verified: 'yes' })).toBe(true);
    setKey('0123456789abcdef');
    await expect(readRecord(file('weak.json'))).rejects.toMatchObject({ code: ErrorCodes.RECORD_KEY_INVALID });
    await expect(writeRecord(file('weak.json'), { verified: 'no' })).rejects.toMatchObject({ code: ErrorCodes.RECORD_KEY_INVALID });
    // Machine records do not depend on it.
    expect(await writeRecord(file('weak-machine.json'), { linkedAtMs: 2 }, { machine: true })).toBe(true);
  });
});
