/** `yarn sigstore pin update <package> --reason "..."`: accepts a change of signer (or the loss of provenance) on purpose. */
import { BaseCommand } from '@yarnpkg/cli';
import { MessageName } from '@yarnpkg/core';
import { Command, Option, type Usage } from 'clipanion';
import { ErrorCodes } from '../../errors';
import { openProject, runReport } from './context';

export class SigstorePinUpdateCommand extends BaseCommand {
  static override paths = [['sigstore', 'pin', 'update']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: "accept a change of a package's pinned signer identity, with a reason",
    details: `
      \`--reason\` is required: why the change is accepted (kept in \`sigstore.lock\`).

      Marks the package's block in \`sigstore.lock\` for update and records the reason there. The next \`yarn install\` accepts what it verifies for that package (another repository, workflow or runner, or no provenance at all), pins it and keeps the reason. Commit the lock: the change and its reason are what reviewers see in the diff. \`--immutable\` installs refuse a lock with a pending update.
    `,
    examples: [['Accept a move to a new repository', 'yarn sigstore pin update left-pad --reason "moved to github.com/acme/left-pad, see ACME-42"']],
  });

  json = Option.Boolean('--json', false, { description: 'Print the result as JSON' });
  // No description on purpose: clipanion then prints the required option in the usage line (`<--reason #0> <package>`), not only in the option list.
  reason = Option.String('--reason', { required: true });
  packageName = Option.String({ name: 'package' });

  async execute(): Promise<number> {
    const open = await openProject(this.context);
    const { pinLockPath, readPinLock, writePinLock } = await import('../pipeline-adapter');
    const { serializePinLock } = await import('../../pins');
    return runReport(open.configuration, this.context, this.json, async (report) => {
      const fail = (message: string) => report.reportError(MessageName.UNNAMED, `sigstore [${ErrorCodes.PIN_UPDATE_INVALID}] ${message}`);
      const reason = this.reason.trim();
      if (reason === '') return fail(`${this.packageName}: --reason must say why the change is accepted`);
      const path = pinLockPath(open.project);
      const { parsed } = readPinLock(path);
      const pin = parsed?.lock.packages.get(this.packageName);
      if (!parsed || !pin) return fail(`${this.packageName} is not pinned in sigstore.lock; the next \`yarn install\` pins it on its first verification`);
      pin.pendingUpdate = true;
      pin.reason = reason;
      writePinLock(path, serializePinLock(parsed.lock));
      report.reportJson({ type: 'sigstore-pin-update', name: this.packageName, reason });
      report.reportInfo(MessageName.UNNAMED, `sigstore: ${this.packageName} will be pinned again by the next \`yarn install\` (reason: ${reason}); commit sigstore.lock`);
    });
  }
}
