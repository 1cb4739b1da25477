/**
 * The Sigstore conformance suite's client protocol, verification only:
 *   verify-bundle [--staging] --bundle F (--certificate-identity I --certificate-oidc-issuer O | --key K) [--trusted-root T] FILE_OR_sha256:HEX
 * Exit 0 when the bundle verifies and the identity matches exactly; 1 with the coded error otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { crypto as sigstoreCrypto } from '@sigstore/core';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { createTrustContext, embeddedStagingTrustMaterial, embeddedTrustMaterial, loadTrustedRootFile, preparedTrust } from '../trust';
import { parseBundle } from '../verify/bundle';
import { signerIdentity } from '../verify/identity';
import { toPluginError } from '../verify/library-errors';
import { verifySignedBundle } from '../verify/signed-bundle';
import { readStatement } from '../verify/statement';

interface VerifyBundleArgs {
  staging: boolean;
  bundle: string;
  identity?: string;
  issuer?: string;
  key?: string;
  trustedRoot?: string;
  input: string;
}

function usage(message: string): never {
  throw new SigstorePluginError(ErrorCodes.INTERNAL, `usage: ${message}`);
}

export function parseArgs(argv: string[]): VerifyBundleArgs {
  const [command, ...rest] = argv;
  if (command !== 'verify-bundle') usage(`unsupported command ${JSON.stringify(command)} (only verify-bundle)`);
  const args: Partial<VerifyBundleArgs> = { staging: false };
  const valued: Record<string, keyof VerifyBundleArgs> = {
    '--bundle': 'bundle',
    '--certificate-identity': 'identity',
    '--certificate-oidc-issuer': 'issuer',
    '--key': 'key',
    '--trusted-root': 'trustedRoot',
  };
  for (let index = 0; index < rest.length; index++) {
    const arg = rest[index];
    if (arg === '--staging') args.staging = true;
    else if (valued[arg]) {
      if (index + 1 >= rest.length) usage(`${arg} needs a value`);
      (args as Record<string, unknown>)[valued[arg]] = rest[++index];
    } else if (index === rest.length - 1 && !arg.startsWith('--')) args.input = arg;
    else usage(`unexpected argument ${JSON.stringify(arg)}`);
  }
  if (!args.bundle || !args.input) usage('--bundle FILE and FILE_OR_DIGEST are required');
  if (!args.key && (!args.identity || !args.issuer)) usage('give --key, or --certificate-identity and --certificate-oidc-issuer');
  return args as VerifyBundleArgs;
}

/** `sha256:<64 hex>` that is not a file on disk is a digest; anything else is a path. */
function readInput(input: string): { artifact?: Buffer; sha256: string } {
  if (/^sha256:[0-9a-f]{64}$/i.test(input) && !existsSync(input)) return { sha256: input.slice(7).toLowerCase() };
  const artifact = readFileSync(input);
  return { artifact, sha256: createHash('sha256').update(artifact).digest('hex') };
}

function trustFor(args: VerifyBundleArgs) {
  if (args.trustedRoot) return preparedTrust(loadTrustedRootFile(args.trustedRoot));
  return preparedTrust(createTrustContext(args.staging ? embeddedStagingTrustMaterial() : embeddedTrustMaterial()));
}

function fail(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], message: string): never {
  throw new SigstorePluginError(code, message);
}

export function verifyBundleCommand(args: VerifyBundleArgs): string {
  const label = args.bundle;
  try {
    const trust = trustFor(args);
    const { artifact, sha256 } = readInput(args.input);
    let serialized: unknown;
    try {
      serialized = JSON.parse(readFileSync(args.bundle, 'utf8'));
    } catch (cause) {
      throw new SigstorePluginError(ErrorCodes.BUNDLE_MALFORMED, `not JSON`, { cause });
    }
    const bundle = parseBundle(serialized, label);
    const managedKey = args.key ? sigstoreCrypto.createPublicKey(readFileSync(args.key, 'utf8')) : undefined;
    const material = managedKey
      ? trust.withKeys(() => ({ publicKey: managedKey, validFor: () => true }))
      : trust.withKeys((hint) => fail(ErrorCodes.KEY_UNKNOWN, `signed with key ${JSON.stringify(hint)} but a certificate identity was expected`));
    if (bundle.content.$case === 'messageSignature' && !artifact) {
      fail(ErrorCodes.INTERNAL, `a message signature needs the artifact itself, not its digest`);
    }
    const signature = verifySignedBundle(bundle, material, artifact);
    if (bundle.content.$case === 'dsseEnvelope') {
      const statement = readStatement(bundle, label);
      if (!statement.subject.some((subject) => subject.digest.sha256?.toLowerCase() === sha256)) {
        fail(ErrorCodes.SUBJECT_DIGEST_MISMATCH, `no in-toto subject has sha256 ${sha256}`);
      }
    }
    if (managedKey) {
      if (signature.certificate) fail(ErrorCodes.SIGNER_KIND, `signed with a certificate, but --key was given`);
      return 'OK (key)';
    }
    if (!signature.certificate) fail(ErrorCodes.SIGNER_KIND, `not signed with a certificate`);
    const identity = signerIdentity(signature.certificate);
    if (identity.san !== args.identity || identity.issuer !== args.issuer) {
      fail(ErrorCodes.IDENTITY_MISMATCH, `signed by ${identity.san} (issuer ${identity.issuer}), expected ${args.identity} (issuer ${args.issuer})`);
    }
    return `OK ${identity.san}`;
  } catch (error) {
    throw toPluginError(error, label);
  }
}

export function main(argv: string[]): number {
  try {
    process.stdout.write(`${verifyBundleCommand(parseArgs(argv))}\n`);
    return 0;
  } catch (error) {
    const coded = error instanceof SigstorePluginError ? error : toPluginError(error, 'sigstore-conformance');
    process.stderr.write(`${coded.code}: ${coded.message}\n`);
    return 1;
  }
}
