/**
 * Install-wide hooks: when the fetch step starts, check the lockfile's
 * protocols and start fetching every registry package's attestations; when it
 * ends (or fails), print the summary and write the evidence file.
 */
import { Project, structUtils } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import path from 'path';
import { checkLockfileProtocols } from './dependencies';
import { routeOf } from './locators';
import { closeIdleConnections } from '../sources/httpClient';
import { finishPinning, startPinning } from './pins';
import { GateSession } from './session';
import { patchOnce } from './state';
import { reportSummary } from './summary';

export function installFetchStepHooks(): void {
  patchOnce('fetchEverything', () => {
    const fetchEverything = Project.prototype.fetchEverything;
    Project.prototype.fetchEverything = async function (this: Project, options) {
      const session = GateSession.for(this);
      checkLockfileProtocols(this);
      const packages = [...registryPackages(this)];
      session.prefetch(packages);
      // Loading the policy here makes a broken policy fail the install before anything is fetched.
      const { policy, trustInfo } = await session.ready();
      for (const warning of trustInfo.warnings) options.report.reportWarning(0, `sigstore: ${warning}`);
      const policyName = policy.loaded?.filepath ? path.relative(npath.fromPortablePath(this.cwd), policy.loaded.filepath) : 'none (zero-config)';
      options.report.reportInfo(0, `sigstore: verifying ${packages.length} registry packages (policy: ${policyName}, trust: ${trustInfo.summary})`);
      const immutable = (options as { immutable?: boolean }).immutable === true;
      startPinning(session, immutable);
      let outcome: 'completed' | 'failed' = 'failed';
      try {
        await fetchEverything.call(this, options);
        finishPinning(session, options.report, { immutable, persist: options.persistProject !== false, packages });
        outcome = 'completed';
        await session.saveArchiveIndex();
      } finally {
        await session.flushRecords();
        await reportSummary(session, options.report, outcome);
        // Kept-alive registry connections are for this fetch step only.
        closeIdleConnections();
      }
    };
  });
}

function* registryPackages(project: Project) {
  for (const pkg of project.storedPackages.values()) {
    if (routeOf(pkg.reference) === 'npm') yield pkg;
    else if (routeOf(pkg.reference) === 'patch') {
      const source = structUtils.parseRange(pkg.reference).source;
      const base = source ? structUtils.parseLocator(source, true) : null;
      if (base && routeOf(base.reference) === 'npm') yield base;
    }
  }
}
