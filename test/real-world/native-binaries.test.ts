/** Native and platform-specific optional binaries (PnP): sharp's @img/* and esbuild's @esbuild/* packages, most not for this platform. */
import { describeRealWorldStack } from './stack';

describeRealWorldStack({
  name: 'native-binaries',
  nodeLinker: 'pnp',
  manifest: { dependencies: { sharp: '0.35.5', esbuild: '0.28.2' } },
});
