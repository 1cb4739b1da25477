import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTrustContext, embeddedTrustMaterial, loadTrustedRootFile } from '../../src/trust';
import { verifyPackageAttestations } from '../../src/verify';
import { attestationsOf, codeOf, fixture, FIXTURES, readJson, subjectOf } from '../../testkit/verify-fixtures';

const production = embeddedTrustMaterial();
const withRoot = (edit: (root: any) => void) => {
  const trustedRoot = structuredClone(production.trustedRoot) as any;
  edit(trustedRoot);
  return { ...production, trustedRoot, origin: 'test' };
};

describe('trust material', () => {
  it('embeds the production trusted root and npm keys byte-for-byte equal to the fixtures', () => {
    expect(production.trustedRoot).toEqual(readJson(FIXTURES, 'sigstore', 'trusted_root.production.json'));
    expect(production.npmKeys).toEqual(readJson(FIXTURES, 'sigstore', 'npm_registry_keys.json'));
    const context = createTrustContext(production);
    expect(context.origin).toBe('embedded');
    expect(context.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives different material a different digest', () => {
    const a = createTrustContext(production);
    const b = createTrustContext(withRoot((root) => root.tlogs.pop()));
    expect(a.digest).not.toBe(b.digest);
  });

  for (const [where, edit] of [
    ['a Rekor log', (root: any) => delete root.tlogs[0].publicKey.validFor.start],
    ['a CT log', (root: any) => delete root.ctlogs[0].publicKey.validFor.start],
    ['a Fulcio CA', (root: any) => delete root.certificateAuthorities[0].validFor.start],
    ['a TSA', (root: any) => delete root.timestampAuthorities[0].validFor],
  ] as const) {
    it(`refuses a trusted root where ${where} has no validity start`, () => {
      expect(codeOf(() => createTrustContext(withRoot(edit)))).toBe('TRUSTED_ROOT_INVALID');
    });
  }

  it('refuses something that is not a trusted root, and malformed npm keys', () => {
    expect(codeOf(() => createTrustContext({ ...production, trustedRoot: { hello: 1 } }))).toBe('TRUSTED_ROOT_INVALID');
    expect(codeOf(() => createTrustContext({ ...production, npmKeys: { keys: [{ keyId: 'x', keyUsage: 'npm:attestations', publicKey: { rawBytes: 'AAAA', validFor: { start: '2020-01-01T00:00:00Z' } } }] } }))).toBe(
      'TRUSTED_ROOT_INVALID',
    );
  });

  it('loads a user-supplied trusted root file and verifies with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trust-'));
    const path = join(dir, 'trusted_root.json');
    writeFileSync(path, JSON.stringify(production.trustedRoot));
    const context = loadTrustedRootFile(path);
    expect(context.origin).toBe(`file:${path}`);
    const gundam = fixture('gundam-visor', '1.0.1');
    expect(verifyPackageAttestations(attestationsOf(gundam), subjectOf(gundam), context).provenance?.identity.sourceRepositoryUri).toBe('https://github.com/ramonpetgrave64/gundam-visor');
    writeFileSync(path, '{not json');
    expect(codeOf(() => loadTrustedRootFile(path))).toBe('TRUSTED_ROOT_INVALID');
  });
});
