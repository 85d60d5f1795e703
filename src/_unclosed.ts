// A session garbage-collected while still open: say where it was made,
// once, and close its pool.

/** What the warning needs of a session: whether it closed, how to close. */
export interface Closable {
  readonly closed: boolean;
  /** Close what the session owns, without waiting. */
  abandon(): void;
}

interface Tracker {
  readonly stack: string;
  readonly target: Closable;
}

const unclosed = new FinalizationRegistry<Tracker>(({ stack, target }) => {
  if (target.closed) return;
  console.warn(
    `@x/sessions: Unclosed Session. Close sessions with \`await session.close()\` or \`await using\`. It was created ${stack}`,
  );
  target.abandon();
});

/**
 * Warn when `owner` is garbage-collected before `target` closed. `target`
 * must not reach `owner`, or it is never collected.
 */
export function watchUnclosed(owner: object, target: Closable): void {
  const stack = (new Error().stack ?? "").split("\n").slice(3).join("\n");
  unclosed.register(owner, { stack: stack.trim(), target });
}
