/**
 * Denial of service through the attestation document and the packument:
 * nesting deep enough to exhaust a stack, and lists long enough to cost
 * minutes of verification. Each is refused with a code naming the package,
 * and Yarn exits (a request left pending on the verification or packument
 * worker would keep the process alive: the test would then time out instead
 * of reading an exit code).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefused, projectFor, publishSigned, startAttackKit, type AttackKit } from '../../testkit/attack-harness';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => {
  await kit?.close();
});

describe.concurrent('hostile attestation documents', () => {
  it('a document nested 200,000 levels deep (400 KB) is refused as DOCUMENT_TOO_DEEP and Yarn exits', async () => {
    const staged = await publishSigned(kit, { name: 'dos-deep', version: '1.0.0' });
    kit.registry.setAttestations(staged.name, staged.version, `{"attestations":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    const p = await projectFor(kit, staged);
    const result = await p.install();
    expectRefused(p, result, 'DOCUMENT_TOO_DEEP');
    expect(result.output).toContain('dos-deep@1.0.0');
    expect(result.output).not.toContain('INTERNAL');
  });

  it('a packument nested 200,000 levels deep (400 KB) is refused as DOCUMENT_TOO_DEEP on the packument worker, naming the package and URL, and Yarn exits', async () => {
    const [name, version] = ['dos-deep-packument', '1.0.0'];
    kit.registry.addVersion({ name, version, tarball: buildPackageTarball(withPostinstallMarker({ name, version })) });
    // Yarn's own (abbreviated) packument stays sound: only the full one the plugin reads is hostile.
    const deep = `{"versions":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    kit.registry.addFault({ match: (request) => request.kind === 'packument' && request.name === name && request.accept === 'application/json', action: { type: 'status', status: 200, body: deep } });
    const p = await projectFor(kit, { name, version });
    const result = await p.install();
    expectRefused(p, result, 'DOCUMENT_TOO_DEEP');
    expect(result.output).toContain(`${name}@${version}: the document at ${kit.registry.url}/${name} nests deeper than 64 levels; refused`);
    expect(result.output).not.toContain('INTERNAL');
  });

  it('a document listing 1,000 attestations (12 MB, under the size cap) is refused as ATTESTATIONS_MALFORMED', async () => {
    const staged = await publishSigned(kit, { name: 'dos-long', version: '1.0.0' });
    const entry = staged.attestations.attestations[0];
    kit.registry.setAttestations(staged.name, staged.version, { attestations: Array.from({ length: 1_000 }, () => entry) });
    const p = await projectFor(kit, staged);
    const result = await p.install();
    expectRefused(p, result, 'ATTESTATIONS_MALFORMED');
    expect(result.output).toContain('dos-long@1.0.0');
  });
});
