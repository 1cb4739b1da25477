/**
 * `npm run bench [-- name...] [--full]`: runs the named benches (default:
 * all), the quick preset unless `--full` (the whole matrix; see install.ts).
 * Each bench is a module exporting `main()`; add new ones to BENCHES.
 */
const BENCHES: Record<string, () => Promise<{ main: () => void | Promise<void> }>> = {
  core: () => import('./core'),
  install: () => import('./install'),
  'real-tree': () => import('./real-tree'),
  load: () => import('./load'),
};

async function run(): Promise<void> {
  const requested = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
  const names = requested.length > 0 ? requested : Object.keys(BENCHES);
  for (const name of names) {
    const load = BENCHES[name];
    if (!load) throw new Error(`unknown bench ${JSON.stringify(name)} (known: ${Object.keys(BENCHES).join(', ')})`);
    await (await load()).main();
  }
}

run().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
