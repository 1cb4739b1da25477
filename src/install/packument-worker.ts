/**
 * The packument worker's entry (bundled on its own by scripts/build-plugin.ts
 * and embedded in the plugin as a string): the size and depth limits, the
 * parse and the few facts the install keeps of a packument's body, off Yarn's
 * main thread (packument-thread.ts). Knows nothing of Yarn; answers every
 * request, with the facts or the package's coded error.
 */
import { readPackumentFacts } from '../sources/packument';
import type { PackumentRequest } from './packument-thread';
import { serve } from './worker-serve';

serve(({ body, encoding, pkg, url, maxBytes }: PackumentRequest) => readPackumentFacts({ bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength), encoding }, pkg, url, maxBytes));
