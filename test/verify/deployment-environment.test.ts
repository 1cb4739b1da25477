/**
 * The deployment environment claim (Fulcio OID 1.3.6.1.4.1.57264.1.23, a DER
 * UTF8String like .8-.22): read when the certificate carries it, absent when
 * it does not, and a coded refusal when it is not a UTF8String.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SigstorePluginError } from '../../src/errors';
import { createTrustContext, type TrustContext } from '../../src/trust';
import { verifyPackageAttestations } from '../../src/verify';
import { githubIdentity, MockSigstore, type SigningIdentity } from '../../testkit/signer';
import { buildPackageTarball, sha512Hex } from '../../testkit/tarball';

const NAME = '@acme/deployer';
const VERSION = '1.0.0';
const TARBALL = buildPackageTarball({ name: NAME, version: VERSION });
const SUBJECT = { name: NAME, version: VERSION, sha512Hex: sha512Hex(TARBALL) };
const ENVIRONMENT_OID = '1.3.6.1.4.1.57264.1.23';

let mock: MockSigstore;
let trust: TrustContext;

beforeAll(async () => {
  mock = await MockSigstore.create();
  trust = createTrustContext(mock.trustMaterial());
});

async function verifiedIdentity(identity: SigningIdentity) {
  const document = await mock.signPackage({ name: NAME, version: VERSION, tarball: TARBALL, identity, publish: false });
  return verifyPackageAttestations(document, SUBJECT, trust).provenance?.identity;
}

describe('the deployment environment claim (.23)', () => {
  it('is read when the certificate carries it', async () => {
    const identity = await verifiedIdentity(githubIdentity({ repository: 'acme/deployer', environment: 'production' }));
    expect(identity?.deploymentEnvironment).toBe('production');
    // The other claims are read as before.
    expect(identity?.sourceRepositoryUri).toBe('https://github.com/acme/deployer');
  });

  it('stays absent when the certificate does not carry it (a job without an environment)', async () => {
    const identity = await verifiedIdentity(githubIdentity({ repository: 'acme/deployer' }));
    expect(identity).toBeDefined();
    expect(identity).not.toHaveProperty('deploymentEnvironment');
  });

  it('is refused with CERTIFICATE_CHAIN, naming the package and the OID, when it is not a DER UTF8String', async () => {
    // Raw bytes (the legacy .1-.6 encoding) where a UTF8String belongs.
    const identity = githubIdentity({ repository: 'acme/deployer', overrides: { extraExtensions: [{ oid: ENVIRONMENT_OID, value: 'production', legacy: true }] } });
    let refusal: unknown;
    try {
      await verifiedIdentity(identity);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(SigstorePluginError);
    expect((refusal as SigstorePluginError).code).toBe('CERTIFICATE_CHAIN');
    expect((refusal as SigstorePluginError).message).toContain(`${NAME}@${VERSION}: signing certificate extension ${ENVIRONMENT_OID}`);
    expect((refusal as SigstorePluginError).message).toContain('UTF8String');
  });
});
