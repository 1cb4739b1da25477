/**
 * Text from certificates, documents and registry metadata reaches the terminal
 * and CI logs only as printable text: an escape sequence, a forged line (a CI
 * workflow command such as `::error::`) or a bidirectional override is shown
 * escaped, wherever the plugin prints it.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluate, validatePolicyDocument } from '../src/policy';
import { printable, printableMessage } from '../src/printable';
import { parseJsonBody } from '../src/sources/http';
import { toPluginError } from '../src/verify/library-errors';
import { checkAgainstPin } from '../src/pins/compare';
import { reportError } from '../src/yarn/errors';
import { identityClaims } from '../src/yarn/commands/claims';
import type { PackageVerification, SignerIdentity } from '../src/verify/types';

const HOSTILE = 'refs/heads/x\u001b[2J\n::error::forged\u202egnp.exe\u0085';
const SHOWN = 'refs/heads/x\\u{1b}[2J\\u{a}::error::forged\\u{202e}gnp.exe\\u{85}';

describe('printable', () => {
  it('shows control characters, line breaks and bidirectional overrides escaped, and leaves the rest', () => {
    expect(printable(HOSTILE)).toBe(SHOWN);
    expect(printable('@scope/name@1.0.0 — ünïcode ✓')).toBe('@scope/name@1.0.0 — ünïcode ✓');
  });

  it('keeps the line breaks of a message of ours, and escapes everything else', () => {
    expect(printableMessage('first line\nsecond \u001b[31mred\u001b[0m\ttab')).toBe('first line\nsecond \\u{1b}[31mred\\u{1b}[0m\\u{9}tab');
  });
});

describe('where untrusted text is printed', () => {
  const identity: SignerIdentity = {
    issuer: 'https://token.actions.githubusercontent.com',
    san: 'https://github.com/acme/widget/.github/workflows/release.yml@refs/heads/main',
    sourceRepositoryUri: 'https://github.com/acme/widget',
    sourceRepositoryRef: HOSTILE,
  } as SignerIdentity;

  it('a policy mismatch quotes the certificate claim it found escaped, on one line', () => {
    const text = ['version: 1', 'default: { require: provenance }', 'rules:', '  - packages: [widget]', '    require: provenance', '    identity: { issuer: "https://token.actions.githubusercontent.com", ref: "refs/tags/v*" }'].join('\n');
    const { model } = validatePolicyDocument(parse(text), 'sigstore-policy.yml');
    const policy = { model: model!, digest: 'test', warnings: [] };
    const result = { provenance: { identity, predicateType: 'https://slsa.dev/provenance/v1' } } as unknown as PackageVerification;
    const verdict = evaluate(policy, { name: 'widget', version: '1.0.0' }, { status: 'verified', result });
    expect(verdict.decision).toBe('deny');
    expect(verdict.message).toContain(`identity.ref expected refs/tags/v*, found ${SHOWN}`);
    expect(verdict.message).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it('a coded error printed through Yarn keeps its own lines and shows every other control character escaped', () => {
    const error = reportError({ code: 'POLICY_INVALID', message: 'Trust policy p.yml is invalid:\n  rules[0].ref: \u001b[2J\u202e' });
    expect(error.message).toBe('sigstore [POLICY_INVALID] Trust policy p.yml is invalid:\n  rules[0].ref: \\u{1b}[2J\\u{202e}');
  });

  it('a library error quoting a hostile bundle is printed on one line, escaped', () => {
    const error = toPluginError(Object.assign(new Error(`unsupported media type ${HOSTILE}`), { code: 'BUNDLE_V03_MEDIA_TYPE_ERROR' }), 'widget@1.0.0');
    expect(error.message).toContain(SHOWN);
    expect(error.message).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it('a document that is not JSON is quoted escaped, on one line', () => {
    const error = (() => {
      try {
        parseJsonBody(Buffer.from(`{"x": "\u001b[2J\n::error::forged`), 1_000_000, 'widget@1.0.0', 'http://127.0.0.1/-/npm/v1/attestations/widget@1.0.0');
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toContain('is not valid JSON');
    expect(error?.message).not.toMatch(/[\u0000-\u001f]/);
  });

  it('a changed signer is compared with its pin in sigstore.lock and quoted escaped', () => {
    const pin = { name: 'widget', identity: { repository: 'https://github.com/acme/widget' }, versions: new Map() };
    const error = checkAgainstPin(pin, { name: 'widget', version: '1.0.1', integrity: 'sha512-x', identity: { repository: `https://github.com/acme/${HOSTILE}` } });
    expect(error?.code).toBe('PIN_IDENTITY_CHANGED');
    expect(error?.message).toContain(`found https://github.com/acme/${SHOWN}`);
    expect(error?.message).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it('explain lists every claim escaped', () => {
    expect(identityClaims(identity)).toContainEqual(['Source ref', SHOWN]);
  });
});
