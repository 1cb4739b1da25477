/**
 * No-downgrade against the registry's history, for packages sigstore.lock
 * does not pin yet: a version without provenance after earlier versions OF
 * ITS OWN RELEASE LINE carried provenance (or a trusted publisher) is a
 * downgrade. The history is unsigned registry metadata: it may only add a
 * denial, never allow anything.
 *
 * Learnt from pnpm's `trustPolicy: no-downgrade` (pnpm#10202, #10622,
 * #12529 and its users' allow lists):
 * - "earlier" is semver order within the release line (same major; 0.minor
 *   for 0.x), not publish date across the whole package: semver@6.3.1 is not
 *   a downgrade of semver@7 releases published before it, and a backport to
 *   an old line is judged against that line;
 * - a prerelease is compared only with prereleases of its own channel
 *   (`-rc.*` with `-rc.*`), a release only with releases;
 * - versions below the first signed one are never downgrades (their line had
 *   no provenance yet);
 * - trusted publisher and provenance count as one level of evidence: a
 *   version with provenance after trusted-publisher ones is no downgrade;
 * - the way out is a policy rule selecting the version (a range works)
 *   with `downgrade: allow`, a reason and an expiry.
 */
import semver from 'semver';
import type { PublishEvidence } from '../sources/packument';

export interface DowngradeFinding {
  /** The highest earlier version of the same line and channel that carried evidence. */
  signedVersion: string;
  evidence: Exclude<PublishEvidence, 'none'>;
  /** The line compared within, e.g. `2.x`, `0.3.x`, `2.x prereleases (rc)`. */
  line: string;
}

/** The release line and channel a version is compared within. */
function lineOf(version: semver.SemVer): string {
  const line = version.major > 0 ? `${version.major}.x` : `0.${version.minor}.x`;
  const channel = version.prerelease.length > 0 ? String(version.prerelease[0]) : undefined;
  return channel === undefined ? line : `${line} prereleases (${channel})`;
}

/**
 * Whether installing `version` without provenance is a downgrade: the
 * highest lower version of its line and channel with evidence, if any.
 */
export function findDowngrade(history: ReadonlyMap<string, PublishEvidence>, version: string): DowngradeFinding | undefined {
  const installed = semver.parse(version);
  if (!installed) return undefined;
  const line = lineOf(installed);
  let found: DowngradeFinding | undefined;
  for (const [candidate, evidence] of history) {
    if (evidence === 'none') continue;
    const earlier = semver.parse(candidate);
    if (!earlier || lineOf(earlier) !== line || semver.compare(earlier, installed) >= 0) continue;
    if (!found || semver.gt(earlier, found.signedVersion)) found = { signedVersion: candidate, evidence, line };
  }
  return found;
}
