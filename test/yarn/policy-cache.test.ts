/**
 * Parsed policy documents kept between installs (src/policy/load.ts
 * ParsedPolicyCache, src/yarn/policy-cache.ts): a second load of the same text
 * reads the kept document instead of parsing the YAML; changed text, an
 * entry another key made and a document JSON cannot keep are parsed anew.
 * XDG_CONFIG_HOME points the record key into a temporary folder.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type SigstorePluginError } from '../../src/errors';
import { loadPolicy } from '../../src/policy';
import { parsedPolicyCache } from '../../src/yarn/policy-cache';
import { temporaryRecordKey } from '../../testkit/pipeline';

const scratch = temporaryRecordKey({ beforeAll, afterAll }, 'sigstore-policy-cache-');
let count = 0;

/** A project with this policy text and an empty cache folder of its own. */
function project(text: string): { dir: string; cacheFolder: string; policyFile: string } {
  const dir = join(scratch.folder(), `project-${++count}`);
  const policyFile = join(dir, 'sigstore-policy.yml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(policyFile, text);
  return { dir, cacheFolder: join(dir, '.cache'), policyFile };
}

const POLICY = 'version: 1\nmode: warn\ndefault:\n  require: publish\nrules:\n  - packages: ["left-pad"]\n    require: none\n    reason: "legacy"\n';
const recordFile = (cacheFolder: string) => join(cacheFolder, readdirSync(cacheFolder)[0]);

/** Rewrites the kept document (under the record's own MAC: the test holds the key's file, not the key). */
function editKeptDocument(cacheFolder: string, edit: (document: any) => void, remac: boolean): void {
  const file = recordFile(cacheFolder);
  const record = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
  const body = JSON.parse(record.body);
  edit(body.document);
  const newBody = JSON.stringify(body);
  const key = readFileSync(join(process.env.XDG_CONFIG_HOME!, 'yarn-plugin-sigstore', 'record.key'));
  const mac = remac ? createHmac('sha256', key).update(newBody).digest('hex') : record.mac;
  writeFileSync(file, JSON.stringify({ mac, body: newBody }));
}

describe('parsed policy cache', () => {
  it('keeps the parsed document, and a later load reads it instead of parsing the file', async () => {
    const { dir, cacheFolder } = project(POLICY);
    const cache = parsedPolicyCache(cacheFolder);
    const first = await loadPolicy(dir, { cache });
    expect(first?.model.mode).toBe('warn');
    // The kept document, edited under a valid MAC, is what the next load validates: the YAML was not parsed again.
    editKeptDocument(cacheFolder, (document) => (document.mode = 'enforce'), true);
    expect((await loadPolicy(dir, { cache }))?.model.mode).toBe('enforce');
  });

  it('parses again when the text changes, and ignores an entry another key made', async () => {
    const { dir, cacheFolder, policyFile } = project(POLICY);
    const cache = parsedPolicyCache(cacheFolder);
    await loadPolicy(dir, { cache });
    writeFileSync(policyFile, POLICY.replace('mode: warn', 'mode: off'));
    expect((await loadPolicy(dir, { cache }))?.model.mode).toBe('off');
    // A kept document edited without this user's key (a restored or planted cache) is a miss: the file decides.
    editKeptDocument(cacheFolder, (document) => (document.mode = 'warn'), false);
    expect((await loadPolicy(dir, { cache }))?.model.mode).toBe('off');
  });

  it('keeps nothing JSON cannot give back exactly, and still validates what it reads', async () => {
    const { dir, cacheFolder } = project(POLICY.replace('mode: warn', 'mode: warn\nx: .nan'));
    const error = await loadPolicy(dir, { cache: parsedPolicyCache(cacheFolder) }).catch((e: SigstorePluginError) => e);
    expect(error).toMatchObject({ code: ErrorCodes.POLICY_INVALID });
    expect(() => readdirSync(cacheFolder)).toThrow();
  });
});
