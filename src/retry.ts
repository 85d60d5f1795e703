/**
 * Retry policy: which requests are retried, how often and after how long.
 *
 * @module
 */
import type { RequestInfo } from "./errors.ts";
import type { SessionResponse } from "./response.ts";
import { IDEMPOTENT } from "./_http.ts";

/**
 * What {@linkcode RetryOptions.shouldRetry} is asked about: the failed
 * attempt and the delay the policy chose.
 *
 * @example
 * ```ts
 * import type { RetryState } from "@x/sessions";
 * const log = (state: RetryState) => console.log(state.retry, state.delay, state.response?.status);
 * ```
 */
export interface RetryState {
  /** The retry about to be made: 1 for the first retry. */
  readonly retry: number;
  /** The request's method and URL. */
  readonly request: RequestInfo;
  /** The response that failed, when there was one (its body is still unread). */
  readonly response?: SessionResponse;
  /** The error that failed the attempt, when there was one. */
  readonly error?: unknown;
  /** Milliseconds the policy will wait (from `Retry-After` or `backoff`). */
  readonly delay: number;
}

/**
 * How a session retries failed requests. Retries happen only for the
 * listed methods and statuses, and for network errors; never for a body that
 * was a one-shot stream. The `timeout` of the request covers every attempt
 * and the waits between them.
 *
 * @example
 * ```ts
 * import { Session } from "@x/sessions";
 * await using session = new Session({
 *   retry: { limit: 3, statusCodes: [429, 503], maxRetryAfter: 30_000 },
 * });
 * ```
 */
export interface RetryOptions {
  /** Retries after the first attempt; `0` turns retrying off. @default 2 */
  limit?: number;
  /**
   * Methods that may be retried (case-insensitive).
   * @default ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]
   */
  methods?: readonly string[];
  /**
   * Statuses that are retried.
   * @default [408, 413, 429, 500, 502, 503, 504]
   */
  statusCodes?: readonly number[];
  /**
   * Milliseconds to wait before retry number `retry` (1-based) when the
   * response has no `Retry-After`. The default is exponential with jitter:
   * about 300, 600, 1200 ... ms (each between 75% and 125% of that),
   * at most 30 s.
   */
  backoff?: (retry: number) => number;
  /**
   * Longest `Retry-After` (seconds or an HTTP date) the session waits for;
   * a response asking for more is not retried. A wait that would outlast
   * the request's `timeout` is not made either.
   * @default Infinity
   */
  maxRetryAfter?: number;
  /**
   * Last word on each retry the policy would make: return `false` to stop,
   * `true` to go on, or a number of milliseconds to wait instead of
   * `state.delay`. May be async.
   */
  shouldRetry?: (
    state: RetryState,
  ) => boolean | number | Promise<boolean | number>;
}

/** @internal A checked retry policy. */
export interface RetryPolicy {
  limit: number;
  methods: ReadonlySet<string>;
  statusCodes: ReadonlySet<number>;
  backoff: (retry: number) => number;
  maxRetryAfter: number;
  shouldRetry: RetryOptions["shouldRetry"];
}

const STATUS_CODES: ReadonlySet<number> = new Set([
  408,
  413,
  429,
  500,
  502,
  503,
  504,
]);

function defaultBackoff(retry: number): number {
  const base = Math.min(30_000, 300 * 2 ** (retry - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** @internal The default policy. */
export const DEFAULT_RETRY: RetryPolicy = {
  limit: 2,
  methods: IDEMPOTENT,
  statusCodes: STATUS_CODES,
  backoff: defaultBackoff,
  maxRetryAfter: Infinity,
  shouldRetry: undefined,
};

/**
 * Milliseconds a `Retry-After` value asks to wait: a number of seconds or
 * an HTTP date. `undefined` when absent or unreadable.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "@x/sessions";
 * console.log(parseRetryAfter("3")); // 3000
 * const now = Date.parse("Sun, 06 Nov 1994 08:49:37 GMT");
 * console.log(parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now)); // 10000
 * ```
 *
 * @param value The header value.
 * @param now The current time in ms since the epoch (for dates).
 * @returns The delay in milliseconds, at least 0.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
