/**
 * One call from a package spec to a version served by the test registry: build
 * the tarball, sign it with the mock Sigstore, add it to the registry.
 */
import type { TestRegistry } from './registry';
import type { MockSigstore, SignPackageOptions } from './signer';
import type { SigningIdentity } from './identity';
import { buildPackageTarball, type PackageSpec } from './tarball';

export interface PublishOptions {
  /** Provenance signer; omit (or provenance: false) for a package without provenance. */
  identity?: SigningIdentity;
  provenance?: boolean;
  publish?: boolean;
  /** false: serve no attestations at all (an unsigned package). */
  signed?: boolean;
  bundleVersion?: SignPackageOptions['bundleVersion'];
}

/** Builds, signs and serves a package version; returns its tarball. */
export async function publishPackage(registry: TestRegistry, signer: MockSigstore, spec: PackageSpec, options: PublishOptions = {}): Promise<Buffer> {
  const tarball = buildPackageTarball(spec);
  const signed = options.signed ?? true;
  const attestations = signed
    ? await signer.signPackage({
        name: spec.name,
        version: spec.version,
        tarball,
        identity: options.identity,
        provenance: options.provenance ?? options.identity !== undefined,
        publish: options.publish,
        bundleVersion: options.bundleVersion,
      })
    : null;
  registry.addVersion({ name: spec.name, version: spec.version, tarball, attestations });
  return tarball;
}
