/**
 * Attacks on the content-keyed verification cache that a warm install trusts
 * with `sigstoreRecheckAttestations: false` (no attestation request): a record
 * restored from a CI cache must be this user's own (HMAC) to count, and the
 * policy is judged afresh on the cached signer at every install. The same for
 * a remembered "no attestations" answer, which could otherwise hide a broken
 * bundle (a tampering signal) behind "unsigned".
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsignedKey } from '../../src/install/store';
import { githubIdentity } from '../../testkit/signer';
import { buildPackageTarball } from '../../testkit/tarball';
import type { YarnProject } from '../../testkit/yarn';
import { clearInstallOutput, cloneDocument, expectInstalled, expectRefused, policyOf, projectFor, provenanceBundle, provenanceRule, publishSigned, repositoryOf, startAttackKit, userRecordKey, type AttackKit } from '../../testkit/attack-harness';

const RECHECK_OFF = 'sigstoreRecheckAttestations: false';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => kit?.close());

/** How many attestation documents of `name` the registry has served so far. */
const attestationRequests = (name: string): number => kit.registry.requests.filter((request) => request.kind === 'attestations' && request.name === name).length;

/** The user's record store; with recheck off the plugin keeps one verified result per package (content key only). */
function recordStoreFile(p: YarnProject): string {
  const file = join(p.cwd, '.yarn-global/sigstore/records.json');
  const body = JSON.parse(JSON.parse(readFileSync(file, 'utf8')).body) as { verified: Record<string, unknown> };
  expect(Object.keys(body.verified)).toHaveLength(1);
  return file;
}


const macWith = (key: Buffer, body: string): string => createHmac('sha256', key).update(body).digest('hex');

/** How the forged record is authenticated: only the last one has the user's key, which no cache restore carries. */
const forgeries: Array<[label: string, mac: (p: YarnProject, genuineMac: string, body: string) => string, honoured: boolean]> = [
  ['the genuine MAC reused', (_p, genuineMac) => genuineMac, false],
  ["a MAC under another machine's record key", (_p, _mac, body) => macWith(randomBytes(32), body), false],
  ["control: a MAC under this user's own record key (out of an attacker's reach)", (p, _mac, body) => macWith(userRecordKey(p), body), true],
];

/** The project's archive index: one file per project under the global folder. */
function archiveIndexFile(p: YarnProject): string {
  const folder = join(p.cwd, '.yarn-global/sigstore/projects');
  const files = readdirSync(folder).filter((file) => file.endsWith('.json'));
  expect(files).toHaveLength(1);
  return join(folder, files[0]);
}

describe.concurrent('content-keyed verification cache (sigstoreRecheckAttestations: false)', () => {
  forgeries.forEach(([label, mac, honoured], index) => {
    it(`a restored CI cache with a project archive index claiming the trusted signer, ${label}`, async () => {
      const evil = `evil/ci-forged-${index}`;
      const staged = await publishSigned(kit, { name: `ci-forged-${index}`, version: '1.0.0' }, { identity: githubIdentity({ repository: evil }) });
      // Trusted as it is at first (only a completed install writes the index), then the policy names the legitimate repository.
      const p = await projectFor(kit, staged, { policy: policyOf([provenanceRule(staged.name, { repository: `https://github.com/${evil}` })]) });
      expectInstalled(p, await p.install(), staged.name, staged.version);
      p.write('sigstore-policy.yml', policyOf([provenanceRule(staged.name)]));
      // The attacker rewrites the index to say the legitimate repository signed it.
      const file = archiveIndexFile(p);
      const genuine = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
      const body = genuine.body.replaceAll(evil, repositoryOf(staged.name));
      expect(body).not.toBe(genuine.body);
      writeFileSync(file, JSON.stringify({ mac: mac(p, genuine.mac, body), body }));
      clearInstallOutput(p);
      const result = await p.install();
      if (honoured) {
        // Trusted, the forged index passes the policy (the real signer cannot): what the HMAC check is for. Only
        // sigstore.lock, which recorded the real signer at the first install, still stops it: the signer the
        // install takes as verified is the forged one.
        expectRefused(p, result, 'PIN_LOCK_DISAGREES', { warm: [staged.name] });
        expect(result.output).toContain(`says identity.repository https://github.com/${evil}, but this install verified https://github.com/${repositoryOf(staged.name)}`);
        return;
      }
      // A miss: judged on the real signer, from the per-package record of the first install.
      expectRefused(p, result, 'POLICY_DENIED', { warm: [staged.name] });
      expect(result.output).toContain(evil);
    });
  });

  forgeries.forEach(([label, mac, honoured], index) => {
    it(`a restored CI cache with a content-keyed record claiming the trusted signer, ${label}`, async () => {
      // Genuinely signed, but by a repository the policy does not trust.
      const staged = await publishSigned(kit, { name: `cc-forged-${index}`, version: '1.0.0' }, { identity: githubIdentity({ repository: `evil/cc-forged-${index}` }) });
      const p = await projectFor(kit, staged, { yarnrc: RECHECK_OFF });
      expectRefused(p, await p.install(), 'POLICY_DENIED');
      // The attacker rewrites the store's record of the real verification to name the trusted repository.
      const file = recordStoreFile(p);
      const genuine = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
      const body = genuine.body.replaceAll(`evil/cc-forged-${index}`, repositoryOf(staged.name));
      expect(body).not.toBe(genuine.body);
      writeFileSync(file, JSON.stringify({ mac: mac(p, genuine.mac, body), body }));
      const result = await p.install();
      if (honoured) {
        // Trusted, the forged record passes the policy (the real signer cannot): what the HMAC check is for.
        // (A document may still be prefetched: with no yarn.lock yet, the install cannot know it is warm.)
        expectInstalled(p, result, staged.name, staged.version);
        return;
      }
      // A miss: verified afresh from the document served now and judged on the real signer,
      // whose result (under this user's key) replaced the forged store.
      expectRefused(p, result, 'POLICY_DENIED');
      expect(result.output).toMatch(/evil\/cc-forged-/);
      const rewritten = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
      expect(rewritten.body).toContain(`evil/cc-forged-${index}`);
      expect(rewritten.mac).toBe(macWith(userRecordKey(p), rewritten.body));
    });
  });

  forgeries.forEach(([label, mac, honoured], index) => {
    it(`a restored CI cache with a "no attestations" answer hiding a broken bundle, ${label}`, async () => {
      // One genuinely unsigned package (its remembered answer is what the attacker starts from),
      // and one whose provenance was altered after signing; the policy allows both unsigned.
      const plain = { name: `na-plain-${index}`, version: '1.0.0' };
      kit.registry.addVersion({ ...plain, tarball: buildPackageTarball(plain) });
      const staged = await publishSigned(kit, { name: `na-broken-${index}`, version: '1.0.0' });
      const broken = cloneDocument(staged.attestations);
      const envelope = provenanceBundle(broken).dsseEnvelope;
      envelope.payload = Buffer.from(Buffer.from(envelope.payload, 'base64').toString('utf8').replace('acme', 'acmf')).toString('base64');
      kit.registry.setAttestations(staged.name, staged.version, broken);
      const allowUnsigned = [`  - packages: ["${plain.name}", "${staged.name}"]`, '    require: none', '    reason: no provenance upstream'].join('\n');
      const p = await kit.project({ dependencies: { [plain.name]: plain.version, [staged.name]: staged.version }, policy: policyOf([allowUnsigned]) });
      const tampering = ['SIGNATURE', 'TLOG_[A-Z_]+'];
      expectRefused(p, await p.install(), tampering);

      // The attacker turns the plain package's answer into one for the broken package's exact bytes.
      const file = join(p.cwd, '.yarn-global/sigstore/records.json');
      const genuine = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
      const store = JSON.parse(genuine.body) as { unsigned: Record<string, { value: { sources: string }; usedAt: number }> };
      const [answer] = Object.values(store.unsigned);
      const subject = { name: staged.name, version: staged.version, sha512Hex: createHash('sha512').update(staged.tarball).digest('hex') };
      store.unsigned = { [unsignedKey(subject, answer.value.sources)]: { ...answer, value: { ...answer.value, ...subject } } };
      const body = JSON.stringify(store);
      writeFileSync(file, JSON.stringify({ mac: mac(p, genuine.mac, body), body }));

      const result = await p.install();
      if (honoured) {
        // Trusted, the forged answer passes the broken package as unsigned: what the HMAC check is for.
        expectInstalled(p, result, staged.name, staged.version);
        return;
      }
      // A miss: the document is fetched, and the broken bundle denies the package.
      expectRefused(p, result, tampering);
      expect(result.output).toContain(`${staged.name}@npm:${staged.version}: sigstore [`);
    });
  });

  it('a tightened policy applies to a package whose verified result is cached by content', async () => {
    const staged = await publishSigned(kit, { name: 'cc-tightened', version: '1.0.0' });
    const p = await projectFor(kit, staged, { yarnrc: RECHECK_OFF });
    expectInstalled(p, await p.install(), staged.name, staged.version);
    recordStoreFile(p);
    // Control: the warm install takes the cached result and asks the registry for no document.
    const before = attestationRequests(staged.name);
    clearInstallOutput(p);
    expectInstalled(p, await p.install(), staged.name, staged.version);
    expect(attestationRequests(staged.name)).toBe(before);
    // The reviewed policy now pins release tags the cached signer (refs/tags/v1.0.0) does not match.
    p.write('sigstore-policy.yml', policyOf([provenanceRule(staged.name, { ref: 'refs/tags/v2.*' })]));
    clearInstallOutput(p);
    const result = await p.install();
    expectRefused(p, result, 'POLICY_DENIED', { warm: [staged.name] });
    expect(result.output).toMatch(/refs\/tags\/v1\.0\.0/);
    // Judged on the cached identity: still no document fetched.
    expect(attestationRequests(staged.name)).toBe(before);
  });
});
