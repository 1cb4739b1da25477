/** A Vite + Vitest + React app (PnP): rolldown's and lightningcss's platform binaries, fsevents. */
import { describeRealWorldStack } from './stack';

describeRealWorldStack({
  name: 'vite-react-app',
  nodeLinker: 'pnp',
  manifest: {
    type: 'module',
    dependencies: { react: '19.3.1', 'react-dom': '19.3.1' },
    devDependencies: { vite: '8.4.0', vitest: '5.1.2', '@vitejs/plugin-react': '6.3.0' },
  },
});
