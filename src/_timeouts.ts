// Timeouts: the `timeout` option's parser and the plan of phase timers an
// attempt runs (pure: the exchange starts and stops the timers it names).
import { checkDuration, checkKeys, keySet, typeName } from "./_checks.ts";
import type { TimeoutPhase } from "./errors.ts";
import type { TimeoutOptions } from "./options.ts";

/** Checked timeouts in ms; 0 means none. */
export interface Timeouts {
  readonly total: number;
  readonly connect: number;
  readonly headers: number;
  readonly bodyIdle: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = Object.freeze({
  total: 300_000,
  connect: 0,
  headers: 0,
  bodyIdle: 0,
});

const PHASES = keySet<TimeoutOptions>({
  total: true,
  connect: true,
  headers: true,
  bodyIdle: true,
});

/** A `timeout` option over `base`: a number is the total; an object sets phases. */
export function parseTimeouts(
  value: unknown,
  base: Timeouts,
  action: string,
): Timeouts {
  if (value === undefined) return base;
  if (typeof value === "number") {
    return { ...base, total: checkDuration("timeout", value, action) };
  }
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Cannot ${action} as 'timeout' must be a number of milliseconds or an object with total, connect, headers and bodyIdle: received ${
        typeName(value)
      }`,
    );
  }
  checkKeys(value, PHASES, action, "timeout.", "phase");
  const timeouts = { ...base };
  for (const key of PHASES) {
    const limit = (value as Record<string, unknown>)[key];
    if (limit !== undefined) {
      timeouts[key as keyof Timeouts] = checkDuration(
        `timeout.${key}`,
        limit,
        action,
      );
    }
  }
  return timeouts;
}

/** A phase timer to run: which phase, its limit, and why it is that long. */
export interface PhaseTimer {
  readonly phase: TimeoutPhase;
  readonly limit: number;
  readonly detail?: string;
}

/**
 * The timer an attempt starts when it is handed to the adapter.
 * `reportsConnect`: the adapter says when the connection is up, so
 * `connect` and `headers` are timed apart; otherwise the time to the
 * headers is bounded by their sum.
 */
export function sendTimer(
  timeouts: Timeouts,
  reportsConnect: boolean,
): PhaseTimer | undefined {
  const { connect, headers } = timeouts;
  if (reportsConnect) {
    if (connect > 0) return { phase: "connect", limit: connect };
    return headers > 0 ? { phase: "headers", limit: headers } : undefined;
  }
  if (headers === 0) return undefined;
  if (connect === 0) return { phase: "headers", limit: headers };
  // Never fires before one of the two limits was exceeded.
  return {
    phase: "headers",
    limit: connect + headers,
    detail:
      `connect ${connect} ms + headers ${headers} ms: this runtime does not report when a connection is made`,
  };
}

/** The timer that follows a reported connection. */
export function connectedTimer(timeouts: Timeouts): PhaseTimer | undefined {
  return timeouts.headers > 0
    ? { phase: "headers", limit: timeouts.headers }
    : undefined;
}
