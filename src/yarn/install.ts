/**
 * Install-wide hooks: when the fetch step starts, check the lockfile's
 * protocols and start fetching every registry package's attestations; when it
 * ends (or fails), print the summary and write the evidence file.
 */
import { Project, structUtils, type Locator } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { noteInstall } from '../code-cache';
import { checkLockfileProtocols } from './dependencies';
import { isDlxProject } from './dlx';
import { routeOf } from './locators';
import { closeIdleConnections } from '../net/agents';
import { PipelineAdapter } from './pipeline-adapter';
import { patchOnce } from './state';

export function installFetchStepHooks(): void {
  patchOnce('fetchEverything', () => {
    const fetchEverything = Project.prototype.fetchEverything;
    Project.prototype.fetchEverything = async function (this: Project, options) {
      noteInstall();
      const session = PipelineAdapter.for(this);
      checkLockfileProtocols(this);
      const packages = registryPackages(this);
      for (const locator of packages) session.results.announced.add(locator.locatorHash);
      // Started before Yarn's own connections (see lookAhead, src/net/agents.ts), not awaited: an install that asks nothing never waits on a slow resolver.
      void session.lookAheadSources(packages);
      session.prefetch(packages);
      // Loading the policy here makes a broken policy fail the install before anything is fetched.
      const { policy, trustInfo } = await session.ready();
      session.results.trustWarnings = trustInfo.warnings;
      for (const warning of trustInfo.warnings) {
        options.report.reportWarning(0, `sigstore: ${warning}`);
        options.report.reportJson({ type: 'sigstore-warning', about: 'trust', message: warning });
      }
      options.report.reportInfo(0, `sigstore: verifying ${packages.length} registry packages (policy: ${policy.label}, trust: ${trustInfo.summary})`);
      const immutable = (options as { immutable?: boolean }).immutable === true;
      // `yarn dlx`'s temporary project is thrown away with its sigstore.lock: pinning there would only print new pins nobody keeps.
      const pinning = !isDlxProject(npath.fromPortablePath(this.cwd));
      if (pinning) session.startPinning(immutable);
      let outcome: 'completed' | 'failed' = 'failed';
      try {
        await fetchEverything.call(this, options);
        const pinnable = packages.filter((locator) => !this.conditionalLocators.has(locator.locatorHash));
        if (pinning) session.finishPinning(options.report, { immutable, persist: options.persistProject !== false, packages: pinnable });
        outcome = 'completed';
        await session.saveArchiveIndex();
      } finally {
        await session.flushRecords();
        await session.reportSummary(options.report, outcome);
        // Kept-alive registry connections are for this fetch step only.
        closeIdleConnections();
      }
    };
  });
}

/** Every registry package the fetch step verifies, once each: those of the lockfile and the bases of its patches (often also in the lockfile). */
function registryPackages(project: Project): Locator[] {
  const packages = new Map<string, Locator>();
  for (const pkg of project.storedPackages.values()) {
    if (routeOf(pkg.reference) === 'npm') packages.set(pkg.locatorHash, pkg);
    else if (routeOf(pkg.reference) === 'patch') {
      const source = structUtils.parseRange(pkg.reference).source;
      const base = source ? structUtils.parseLocator(source, true) : null;
      if (base && routeOf(base.reference) === 'npm' && !packages.has(base.locatorHash)) packages.set(base.locatorHash, base);
    }
  }
  return [...packages.values()];
}
