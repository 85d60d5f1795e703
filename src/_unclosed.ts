// A session left open: say where it was made. Two ways to notice it:
// garbage collection of a session still open (then its pool is closed too),
// and, under `deno test`, the end of the test that opened it (Deno's own
// leak report names only "an HTTP client", not which session).

/** What the warning needs of a session: whether it closed, how to close. */
export interface Closable {
  readonly closed: boolean;
  /** Close what the session owns, without waiting. */
  abandon(): void;
}

interface Tracker {
  readonly stack: string;
  readonly target: Closable;
  /** Already reported at the end of a Deno test. */
  reported: boolean;
}

function warn(tracker: Tracker, when: string): void {
  tracker.reported = true;
  console.warn(
    `@x/sessions: Unclosed Session${when}. Close sessions with \`await session.close()\` or \`await using\`. It was created ${tracker.stack}`,
  );
}

const unclosed = new FinalizationRegistry<Tracker>((tracker) => {
  if (tracker.target.closed) return;
  if (!tracker.reported) warn(tracker, "");
  tracker.target.abandon();
});

// Sessions opened by the Deno test running now (undefined between tests).
let openedInTest: Tracker[] | undefined;

interface DenoTestHooks {
  beforeEach?(fn: () => void): void;
  afterEach?(fn: () => void): void;
}

// Deno 2.5+ has test hooks; registered when this module loads (a hook
// registered during a test never runs). Outside `deno test` they do nothing.
const hooks = (globalThis as { Deno?: { test?: DenoTestHooks } }).Deno?.test;
if (hooks?.beforeEach !== undefined && hooks.afterEach !== undefined) {
  hooks.beforeEach(() => {
    openedInTest = [];
  });
  hooks.afterEach(() => {
    const opened = openedInTest ?? [];
    openedInTest = undefined;
    for (const tracker of opened) {
      if (!tracker.target.closed) warn(tracker, " at the end of a test");
    }
  });
}

/**
 * Warn when `owner` is garbage-collected before `target` closed, or when
 * the Deno test that made it ends with it open. `target` must not reach
 * `owner`, or it is never collected.
 */
export function watchUnclosed(owner: object, target: Closable): void {
  const stack = (new Error().stack ?? "").split("\n").slice(3).join("\n");
  const tracker: Tracker = { stack: stack.trim(), target, reported: false };
  unclosed.register(owner, tracker);
  openedInTest?.push(tracker);
}
