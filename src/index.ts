/**
 * yarn-plugin-sigstore: verifies the Sigstore provenance of every package
 * against the project's trust policy before Yarn links anything.
 * The factory may run several times per process; the patches apply once.
 */
import type { Hooks, Plugin } from '@yarnpkg/core';
import { takeRecordKeyVariable } from './install/record-key';
import { SigstoreExplainCommand } from './yarn/commands/explain';
import { SigstorePinUpdateCommand } from './yarn/commands/pin-update';
import { SigstorePolicyCheckCommand } from './yarn/commands/policy-check';
import { SigstorePolicyAllowCommand } from './yarn/commands/policy-allow';
import { SigstorePolicyInitCommand } from './yarn/commands/policy-init';
import { SigstorePolicyTrustCommand } from './yarn/commands/policy-trust';
import { SigstoreVerifyCommand } from './yarn/commands/verify';
import { checkDependency } from './yarn/dependencies';
import { installFetcherGate } from './yarn/gate';
import { installFetchStepHooks } from './yarn/install';
import { installLinkStepHooks } from './yarn/linked-copies';
import { guardScript, withoutRecordKey } from './yarn/scripts';
import { sigstoreSettings } from './yarn/settings';

// First: the children Yarn starts from now on must not inherit the CI record key (scripts: withoutRecordKey).
takeRecordKeyVariable();
installFetcherGate();
installFetchStepHooks();
installLinkStepHooks();

const plugin: Plugin<Hooks> = {
  configuration: sigstoreSettings,
  // One file per `yarn sigstore ...` command.
  commands: [SigstoreVerifyCommand, SigstoreExplainCommand, SigstorePolicyInitCommand, SigstorePolicyCheckCommand, SigstorePolicyAllowCommand, SigstorePolicyTrustCommand, SigstorePinUpdateCommand],
  hooks: {
    reduceDependency: checkDependency,
    wrapScriptExecution: guardScript,
    setupScriptEnvironment: withoutRecordKey,
  },
};

export default plugin;
