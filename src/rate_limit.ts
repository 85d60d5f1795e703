/**
 * Rate limits (the `rateLimit` option): at most `requests` requests start
 * in any `per` milliseconds, per origin and over the session, and the
 * server's own word (a 429 or 503 with `Retry-After`, `RateLimit-*`
 * headers) slowing or pausing an origin. The session's limiter asks a
 * {@linkcode RateGate} before it lets a request start.
 *
 * @module
 */
import { checkKeys, checkObject, type KeyRegistry, keySet } from "./_checks.ts";
import { MAX_TIMER } from "./_timers.ts";
import { parseRetryAfter } from "./retry.ts";

/**
 * At most `requests` request starts in any `per` milliseconds.
 *
 * @example
 * ```ts
 * import type { RateWindow } from "@x/sessions";
 * const github: RateWindow = { requests: 5_000, per: 3_600_000 };
 * ```
 */
export interface RateWindow {
  /** Requests that may start in one window. */
  requests: number;
  /** The window, in milliseconds. */
  per: number;
}

/**
 * The `rateLimit` option: a rolling window per origin and/or over the
 * session. A request waits in the session's queue until both allow it.
 *
 * @example
 * ```ts
 * import { Session } from "@x/sessions";
 * await using session = new Session({
 *   rateLimit: { perHost: { requests: 10, per: 1_000 }, total: { requests: 50, per: 1_000 } },
 * });
 * ```
 */
export interface RateLimitOptions {
  /** For each origin (scheme, host and port) on its own. */
  perHost?: RateWindow;
  /** Over every origin of the session. */
  total?: RateWindow;
}

const OPTION_KEYS: KeyRegistry<RateLimitOptions> = {
  perHost: true,
  total: true,
};
const WINDOW_KEYS: KeyRegistry<RateWindow> = { requests: true, per: true };
const OPTION_SET = keySet(OPTION_KEYS);
const WINDOW_SET = keySet(WINDOW_KEYS);

/**
 * A checked `rateLimit` as a new {@linkcode RateGate}, or `undefined` for
 * none (`0`, `false` or absent).
 *
 * @throws {TypeError | RangeError} naming `action` for a bad value.
 */
export function parseRateLimit(
  value: unknown,
  action: string,
): RateGate | undefined {
  if (value === undefined || value === 0 || value === false) return undefined;
  checkObject(value, action, "rateLimit");
  checkKeys(value, OPTION_SET, action, "rateLimit.");
  const { perHost, total } = value as Record<string, unknown>;
  return new RateGate(
    parseWindow(perHost, "rateLimit.perHost", action),
    parseWindow(total, "rateLimit.total", action),
  );
}

function parseWindow(
  value: unknown,
  name: string,
  action: string,
): RateWindow | undefined {
  if (value === undefined || value === 0) return undefined;
  checkObject(value, action, name);
  checkKeys(value, WINDOW_SET, action, `${name}.`);
  const { requests, per } = value as Record<string, unknown>;
  if (typeof requests !== "number" || typeof per !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' needs 'requests' and 'per' as numbers: received ${typeof requests} and ${typeof per}`,
    );
  }
  if (!Number.isInteger(requests) || requests < 1 || requests > 1_000_000) {
    throw new RangeError(
      `Cannot ${action} as '${name}.requests' must be an integer from 1 to 1000000: current value is ${requests}`,
    );
  }
  if (!(per > 0) || per > MAX_TIMER) {
    throw new RangeError(
      `Cannot ${action} as '${name}.per' must be a number of milliseconds above 0 and at most ${MAX_TIMER}: current value is ${per}`,
    );
  }
  return { requests, per };
}

// The times of the last `requests` requests, in a ring: when each started,
// moved to when its answer (or failure) came once it did. A request that
// waits `per` after the answer of the one `requests` before it reaches the
// server at least `per` after it, whatever the network's delays.
class RollingWindow {
  readonly #starts: Float64Array;
  // Which request (its number) holds each slot.
  readonly #holders: Float64Array;
  readonly #span: number;
  #next = 0;
  #count = 0;
  #recorded = 0;

  constructor({ requests, per }: RateWindow) {
    this.#starts = new Float64Array(requests);
    this.#holders = new Float64Array(requests);
    this.#span = per;
  }

  /** Milliseconds until one more request may start (0: now). */
  wait(now: number): number {
    if (this.#count < this.#starts.length) return 0;
    // Full: the next slot holds the oldest start.
    const wait = this.#starts[this.#next] + this.#span - now;
    return wait > 0 ? wait : 0;
  }

  /** A request starts: returns its number, for {@linkcode answered}. */
  record(now: number): number {
    const number = ++this.#recorded;
    this.#starts[this.#next] = now;
    this.#holders[this.#next] = number;
    this.#next = (this.#next + 1) % this.#starts.length;
    if (this.#count < this.#starts.length) this.#count++;
    return number;
  }

  /** Request `number` got its answer at `now` (unless its slot moved on). */
  answered(number: number, now: number): void {
    const slot = (number - 1) % this.#starts.length;
    if (this.#holders[slot] === number && this.#starts[slot] < now) {
      this.#starts[slot] = now;
    }
  }
}

/** What {@linkcode RateGate.record} gives back for `answered()`. */
export interface RateTicket {
  readonly origin: string;
  readonly total: number;
  readonly host: number;
}

// What a server said of an origin: wait until `until`, or space starts
// `interval` ms apart until then.
interface Told {
  until: number;
  interval: number;
  last: number;
}

/**
 * The rate limits of a session (or of a container's sessions, which share
 * one): asked before each request starts, told of each start and of each
 * response's status and rate-limit headers.
 */
export class RateGate {
  readonly #perHost: RateWindow | undefined;
  readonly #total: RollingWindow | undefined;
  readonly #hosts = new Map<string, RollingWindow>();
  readonly #told = new Map<string, Told>();

  constructor(perHost: RateWindow | undefined, total: RateWindow | undefined) {
    this.#perHost = perHost;
    this.#total = total === undefined ? undefined : new RollingWindow(total);
  }

  /** Milliseconds until a request to `origin` may start (0: now). */
  wait(origin: string, now: number): number {
    let wait = this.#total?.wait(now) ?? 0;
    const host = this.#hosts.get(origin);
    if (host !== undefined) wait = Math.max(wait, host.wait(now));
    if (this.#told.size > 0) wait = Math.max(wait, this.#toldWait(origin, now));
    return wait;
  }

  /** `true` when the session-wide window is what holds requests back. */
  totalFull(now: number): boolean {
    return (this.#total?.wait(now) ?? 0) > 0;
  }

  /** A request to `origin` starts now; `answered()` its ticket later. */
  record(origin: string, now: number): RateTicket {
    const total = this.#total?.record(now) ?? 0;
    let host = 0;
    const perHost = this.#perHost;
    if (perHost !== undefined) {
      let window = this.#hosts.get(origin);
      if (window === undefined) {
        window = new RollingWindow(perHost);
        this.#hosts.set(origin, window);
      }
      host = window.record(now);
    }
    const told = this.#told.get(origin);
    if (told !== undefined) told.last = now;
    return { origin, total, host };
  }

  /** The request of `ticket` got its answer (or failed) now. */
  answered(ticket: RateTicket, now: number): void {
    if (ticket.total !== 0) this.#total!.answered(ticket.total, now);
    if (ticket.host !== 0) {
      this.#hosts.get(ticket.origin)?.answered(ticket.host, now);
    }
  }

  /**
   * A response from `origin`: a 429 or 503 with `Retry-After` pauses it;
   * `RateLimit-*` or `X-RateLimit-*` headers with nothing remaining pause
   * it until the reset, and with little remaining space its requests out
   * until then. Returns the pause in ms it set (0: none).
   */
  heed(
    origin: string,
    status: number,
    header: (name: string) => string | null,
    now: number,
  ): number {
    const clock = Date.now();
    if (status === 429 || status === 503) {
      const asked = parseRetryAfter(header("retry-after"), clock);
      if (asked !== undefined && asked > 0) {
        const wait = Math.min(asked, MAX_TIMER);
        this.#tell(origin, now + wait, 0, now);
        return wait;
      }
    }
    const quota = readQuota(header, clock);
    if (quota === undefined) return 0;
    const { remaining, reset, little } = quota;
    if (remaining <= 0) {
      this.#tell(origin, now + reset, 0, now);
      return reset;
    }
    // Plenty left: nothing to do (GitHub's 4,999 of 5,000 spaces nothing).
    if (little) this.#tell(origin, now + reset, reset / remaining, now);
    return 0;
  }

  #tell(origin: string, until: number, interval: number, now: number): void {
    const told = this.#told.get(origin);
    if (told === undefined) {
      this.#told.set(origin, { until, interval, last: now });
    } else {
      // A pause already longer than this one stays.
      if (told.interval === 0 && told.until > until) return;
      told.until = until;
      told.interval = interval;
    }
  }

  #toldWait(origin: string, now: number): number {
    const told = this.#told.get(origin);
    if (told === undefined) return 0;
    if (told.until <= now) {
      this.#told.delete(origin);
      return 0;
    }
    if (told.interval === 0) return told.until - now;
    const wait = told.last + told.interval - now;
    return wait > 0 ? wait : 0;
  }
}

/**
 * What `RateLimit` / `RateLimit-Remaining` and `-Reset` (or their `X-`
 * forms) say: requests left, and ms until the window resets. A reset above
 * 10^9 is read as epoch seconds (as GitHub sends), else as seconds from now.
 */
function readQuota(
  header: (name: string) => string | null,
  clock: number,
): { remaining: number; reset: number; little: boolean } | undefined {
  // Most responses have none of them: three lookups say so.
  let remaining = header("ratelimit-remaining") ??
    header("x-ratelimit-remaining");
  const combined = header("ratelimit");
  if (remaining === null && combined === null) return undefined;
  let reset = header("ratelimit-reset") ?? header("x-ratelimit-reset");
  if (combined !== null) {
    remaining ??= /remaining=(\d+)/.exec(combined)?.[1] ?? null;
    reset ??= /reset=(\d+)/.exec(combined)?.[1] ?? null;
  }
  if (remaining === null || reset === null) return undefined;
  const left = Number(remaining);
  const at = Number(reset);
  if (!Number.isFinite(left) || !Number.isFinite(at) || at < 0) {
    return undefined;
  }
  const ms = at > 1e9 ? at * 1000 - clock : at * 1000;
  if (ms <= 0) return undefined;
  // Little left: under a tenth of the limit when the server says it, else
  // at most 10 requests.
  const limit = Number(
    header("ratelimit-limit") ?? header("x-ratelimit-limit") ??
      (combined !== null ? /limit=(\d+)/.exec(combined)?.[1] : undefined) ??
      NaN,
  );
  const little = limit > 0 ? left < limit * 0.1 : left <= 10;
  return { remaining: left, reset: Math.min(ms, MAX_TIMER), little };
}
