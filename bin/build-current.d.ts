/** True when dist/cli/main.js under `root` exists and is at least as new as every file under `root`/src (or there is no src/). */
export function buildIsCurrent(root: string): boolean;
