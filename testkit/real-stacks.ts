/**
 * Real dependency trees from the npm registry, top-level versions exact so
 * the tree does not drift: shared by the real-world suite and the real-tree
 * bench (no vitest import).
 */

/** A Jest + Babel + ESLint + webpack toolchain: a large node-modules tree, fsevents through jest-haste-map. */
export const JEST_BABEL_WEBPACK_TOOLCHAIN: Record<string, string> = {
  jest: '30.5.2',
  'babel-jest': '30.5.2',
  '@babel/core': '8.1.3',
  '@babel/preset-env': '8.0.7',
  eslint: '10.16.0',
  webpack: '5.113.0',
  'webpack-cli': '7.3.1',
  'babel-loader': '10.1.1',
};
