/** A workspace monorepo (node-modules): three workspaces depending on each other and on registry packages. */
import { describeRealWorldStack } from './stack';

describeRealWorldStack({
  name: 'workspace-monorepo',
  nodeLinker: 'node-modules',
  manifest: { devDependencies: { typescript: '5.9.3' } },
  workspaces: {
    'packages/core': { name: '@rw/core', version: '1.0.0', dependencies: { zod: '4.6.7', lodash: '4.18.1' } },
    'packages/server': { name: '@rw/server', version: '1.0.0', dependencies: { '@rw/core': 'workspace:^', express: '5.3.0' } },
    'packages/cli': { name: '@rw/cli', version: '1.0.0', bin: { rw: 'index.js' }, dependencies: { '@rw/core': 'workspace:^', '@rw/server': 'workspace:^', commander: '15.1.0' } },
  },
});
