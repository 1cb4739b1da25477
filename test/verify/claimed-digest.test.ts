/**
 * The digest an attestations document claims, read before verification so
 * that the install can verify early: the real documents claim their real
 * tarball's sha512; anything unreadable is no guess at all.
 */
import { describe, expect, it } from 'vitest';
import { claimedSha512 } from '../../src/verify/statement';
import { NPM_PACKAGES, attestationsOf, tarballSha512 } from '../../testkit/verify-fixtures';

describe('claimedSha512', () => {
  for (const pkg of NPM_PACKAGES) {
    it(`reads the real tarball's sha512 from ${pkg.name}@${pkg.version}'s document`, () => {
      expect(claimedSha512(attestationsOf(pkg), pkg.name, pkg.version)).toBe(tarballSha512(pkg));
    });
  }

  it('makes no guess for another version, a broken payload or a document without attestations', () => {
    const [pkg] = NPM_PACKAGES;
    const document = attestationsOf(pkg);
    expect(claimedSha512(document, pkg.name, '0.0.0-other')).toBeUndefined();
    const broken = JSON.parse(JSON.stringify(document));
    for (const entry of broken.attestations) entry.bundle.dsseEnvelope.payload = Buffer.from('{not json').toString('base64');
    expect(claimedSha512(broken, pkg.name, pkg.version)).toBeUndefined();
    expect(claimedSha512({}, pkg.name, pkg.version)).toBeUndefined();
    expect(claimedSha512(null, pkg.name, pkg.version)).toBeUndefined();
  });
});
