/**
 * Records which SIGINT/SIGTERM listeners exist before any other module of `npm start` is
 * loaded (import this module first), so that listeners libraries add later (embedded-
 * postgres stops the database and exits at once on a signal) can be removed without
 * touching any installed by the runtime (e.g. tsx's, when run through the tsx CLI, which
 * SIGKILLs a script that stops reporting signals). The npm scripts run `node --import tsx`,
 * so no tsx parent process sits between npm and the start script.
 */
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));

/** Removes SIGINT/SIGTERM listeners that libraries added after this module was loaded. */
export function removeLibrarySignalListeners(): void {
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
}
