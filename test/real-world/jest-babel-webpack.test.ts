/** A Jest + Babel + ESLint + webpack toolchain (node-modules): a large tree, fsevents through jest-haste-map. */
import { describeRealWorldStack } from './stack';

describeRealWorldStack({
  name: 'jest-babel-webpack-toolchain',
  nodeLinker: 'node-modules',
  manifest: {
    devDependencies: {
      jest: '30.5.2',
      'babel-jest': '30.5.2',
      '@babel/core': '8.1.3',
      '@babel/preset-env': '8.0.7',
      eslint: '10.16.0',
      webpack: '5.113.0',
      'webpack-cli': '7.3.1',
      'babel-loader': '10.1.1',
    },
  },
});
