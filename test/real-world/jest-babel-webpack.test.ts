/** A Jest + Babel + ESLint + webpack toolchain (node-modules): a large tree, fsevents through jest-haste-map. */
import { JEST_BABEL_WEBPACK_TOOLCHAIN } from '../../testkit/real-stacks';
import { describeRealWorldStack } from './stack';

describeRealWorldStack({
  name: 'jest-babel-webpack-toolchain',
  nodeLinker: 'node-modules',
  manifest: { devDependencies: JEST_BABEL_WEBPACK_TOOLCHAIN },
});
