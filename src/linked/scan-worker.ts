/**
 * The folder-scan worker's entry (bundled on its own by scripts/build-plugin.ts
 * and embedded in the plugin as a string): walks a linker's output folder off
 * Yarn's main thread (scan-thread.ts). Knows nothing of Yarn.
 */
import { serve } from '../install/worker-serve';
import { scanFolder, type ScanRequest } from './scan';

serve((request: ScanRequest) => scanFolder(request));
