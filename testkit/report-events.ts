/**
 * `sigstore-package` events as `yarn sigstore verify --json` prints them
 * (src/install/results.ts publicResult), for the report tests: two signers, a publish
 * attestation only, unsigned, a failure, a warning, a git source, a patch, a
 * workspace, a package for another platform.
 */
import type { VerifyEvent } from '../src/report/sarif';

const ISSUER = 'https://token.actions.githubusercontent.com';

export function identity(repository: string, workflow = '.github/workflows/release.yml', ref = 'refs/tags/v1.0.0'): Record<string, unknown> {
  const uri = `https://github.com/${repository}`;
  return {
    san: `${uri}/${workflow}@${ref}`,
    sanType: 'uri',
    issuer: ISSUER,
    buildSignerUri: `${uri}/${workflow}@${ref}`,
    sourceRepositoryUri: uri,
    sourceRepositoryRef: ref,
    buildConfigUri: `${uri}/${workflow}@${ref}`,
  };
}

const bundle = (kind: 'provenance' | 'publish', logIndex: string) => ({ kind, predicateType: kind === 'provenance' ? 'https://slsa.dev/provenance/v1' : 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1', bundleDigest: `d${logIndex}`, logIndex, verifiedTime: '2026-11-01T00:00:00.000Z' });

const rule = (index: number, description: string, expires?: string) => ({ index, description, ...(expires ? { expires } : {}) });

export function signed(name: string, version: string, repository: string, logIndex: string, ruleRef = rule(0, `rules[0] (${name})`)): VerifyEvent {
  return {
    type: 'sigstore-package',
    locator: `${name}@npm:${version}`,
    name,
    version,
    status: 'verified',
    verdict: { decision: 'allow', reason: 'verified', rule: ruleRef, mismatches: [], message: `${name}@${version}: verified, ${ruleRef.description}` },
    identity: identity(repository),
    bundles: [bundle('provenance', logIndex), bundle('publish', `${logIndex}1`)],
  };
}

export const EVENTS: VerifyEvent[] = [
  { type: 'error', name: 0, displayName: 'YN0000', indent: '', data: 'left-pad@npm:1.3.0: sigstore [POLICY_DENIED] denied' },
  signed('zeta', '1.0.0', 'acme/zeta', '300'),
  { type: 'sigstore-package', locator: 'left-pad@npm:1.3.0', name: 'left-pad', version: '1.3.0', status: 'failed', verdict: { decision: 'deny', reason: 'policy-mismatch', rule: rule(-1, 'default rule'), mismatches: [], message: 'left-pad@1.3.0: denied by default rule: require expected provenance, found no attestation' }, bundles: [] },
  signed('@acme/widget', '2.0.0', 'acme/widget', '200'),
  signed('alpha', '1.0.0', 'acme/zeta', '100'),
  { type: 'sigstore-package', locator: 'old-lib@npm:0.1.0', name: 'old-lib', version: '0.1.0', status: 'allowed-unsigned', verdict: { decision: 'allow', reason: 'allowed-unsigned', rule: rule(2, 'rules[2] (old-lib)', '2026-12-20'), mismatches: [], message: 'old-lib@0.1.0: no provenance, allowed by rules[2] (old-lib)' }, bundles: [] },
  { type: 'sigstore-package', locator: 'published@npm:3.0.0', name: 'published', version: '3.0.0', status: 'verified', verdict: { decision: 'allow', reason: 'verified', rule: rule(-1, 'default rule'), mismatches: [], message: 'published@3.0.0: verified, default rule' }, bundles: [bundle('publish', '555')] },
  { type: 'sigstore-package', locator: 'from-git@https://github.com/acme/from-git.git#commit=0123456789abcdef0123456789abcdef01234567', name: 'from-git', version: 'https://github.com/acme/from-git.git#commit=0123456789abcdef0123456789abcdef01234567', status: 'allowed-source', source: 'from-git: git source github.com/acme/from-git allowed by sources.git[0]' },
  { type: 'sigstore-package', locator: 'app@workspace:.', name: 'app', version: 'workspace:.', status: 'local', source: 'workspace' },
  { type: 'sigstore-package', locator: 'fsevents@npm:2.3.3', name: 'fsevents', version: 'npm:2.3.3', status: 'skipped', source: 'not installed on this platform' },
  { type: 'sigstore-package', locator: 'left-pad@patch:left-pad@npm%3A1.3.0#./fix.patch::locator=app%40workspace%3A.', name: 'left-pad', version: 'patch:left-pad@npm%3A1.3.0#./fix.patch::locator=app%40workspace%3A.', status: 'local', source: 'patch of left-pad@npm:1.3.0' },
  { type: 'sigstore-summary', outcome: 'failed', packages: 7, verified: 4, allowedUnsigned: 1, warnings: 0, failures: 1, skipped: 1, otherSources: 1, otherVerified: 0, local: 2, otherFailures: 0, trustWarnings: 0, zeroConfig: false },
];
