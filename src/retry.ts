/**
 * Retry policy: which requests are retried, how often and after how long.
 *
 * @module
 */
import {
  parseRetryBudget,
  type RetryBudget,
  type RetryBudgetOptions,
} from "./retry_budget.ts";
import type { RequestInfo } from "./request_info.ts";
import type { SessionResponse } from "./response.ts";
import { IDEMPOTENT } from "./_http.ts";
import {
  checkCount,
  checkFunction,
  checkKeys,
  type KeyRegistry,
  keySet,
  typeName,
} from "./_checks.ts";

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
  /**
   * Retries may add at most `ratio` of the requests of the last 10 s, plus
   * `minPerSecond` a second; past that, a request that would be retried is
   * returned (or raised) at once, and a `retry` event with reason
   * `budget` says so. The session's only (not per request); a container's
   * sessions share one.
   */
  budget?: RetryBudgetOptions;
}

/** A checked retry policy. */
export interface RetryPolicy {
  readonly limit: number;
  readonly methods: ReadonlySet<string>;
  readonly statusCodes: ReadonlySet<number>;
  readonly backoff: (retry: number) => number;
  readonly maxRetryAfter: number;
  readonly shouldRetry: RetryOptions["shouldRetry"];
  readonly budget: RetryBudget | undefined;
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

/** The default policy. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  limit: 2,
  methods: IDEMPOTENT,
  statusCodes: STATUS_CODES,
  backoff: defaultBackoff,
  maxRetryAfter: Infinity,
  shouldRetry: undefined,
  budget: undefined,
});

const NO_RETRY: RetryPolicy = Object.freeze({ ...DEFAULT_RETRY, limit: 0 });

const RETRY_KEYS = keySet<RetryOptions>(
  {
    limit: true,
    methods: true,
    statusCodes: true,
    backoff: true,
    maxRetryAfter: true,
    shouldRetry: true,
    budget: true,
  } satisfies KeyRegistry<RetryOptions>,
);

/**
 * A `retry` option (a count or an object) over `base`; `perRequest`: a
 * request's, which cannot set the session's budget.
 */
export function parseRetry(
  value: unknown,
  action: string,
  base: RetryPolicy = DEFAULT_RETRY,
  perRequest = false,
): RetryPolicy {
  if (typeof value === "number") {
    checkCount("retry", value, action);
    return value === 0 ? NO_RETRY : { ...base, limit: value };
  }
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Cannot ${action} as 'retry' must be a number or an object: received ${
        typeName(value)
      }`,
    );
  }
  checkKeys(value, RETRY_KEYS, action, "retry.");
  const options = value as RetryOptions;
  const policy = { ...base };
  if (options.limit !== undefined) {
    policy.limit = checkCount("retry.limit", options.limit, action);
  }
  if (options.methods !== undefined) {
    policy.methods = checkMethods(options.methods, action);
  }
  if (options.statusCodes !== undefined) {
    policy.statusCodes = checkStatusCodes(options.statusCodes, action);
  }
  if (options.backoff !== undefined) {
    policy.backoff = checkFunction("retry.backoff", options.backoff, action);
  }
  if (options.maxRetryAfter !== undefined) {
    const max = options.maxRetryAfter;
    if (typeof max !== "number" || Number.isNaN(max) || max < 0) {
      throw new RangeError(
        `Cannot ${action} as 'retry.maxRetryAfter' must be a non-negative number of milliseconds: current value is ${max}`,
      );
    }
    policy.maxRetryAfter = max;
  }
  if (options.shouldRetry !== undefined) {
    policy.shouldRetry = checkFunction(
      "retry.shouldRetry",
      options.shouldRetry,
      action,
    );
  }
  if (options.budget !== undefined) {
    if (perRequest) {
      throw new TypeError(
        `Cannot ${action} as 'retry.budget' belongs to the session: a request cannot set its own`,
      );
    }
    policy.budget = parseRetryBudget(options.budget, action);
  }
  return policy;
}

function checkMethods(value: unknown, action: string): ReadonlySet<string> {
  if (
    !Array.isArray(value) ||
    value.some((method) => typeof method !== "string")
  ) {
    throw new TypeError(
      `Cannot ${action} as 'retry.methods' must be an array of method names`,
    );
  }
  return new Set(value.map((method: string) => method.toUpperCase()));
}

function checkStatusCodes(value: unknown, action: string): ReadonlySet<number> {
  if (
    !Array.isArray(value) ||
    value.some((code) => !Number.isInteger(code) || code < 100 || code > 999)
  ) {
    throw new TypeError(
      `Cannot ${action} as 'retry.statusCodes' must be an array of HTTP status codes`,
    );
  }
  return new Set(value as number[]);
}

/** How an attempt ended, as far as retrying is concerned. */
export interface AttemptOutcome {
  /** The attempt that ended: 0 for the first. */
  readonly attempt: number;
  /** The request's method. */
  readonly method: string;
  /** `false` when the body was a one-shot stream. */
  readonly replayable: boolean;
  /** The response's status, or `undefined` when the attempt failed. */
  readonly status: number | undefined;
  /** The response's `Retry-After` header, if any. */
  readonly retryAfter: string | null | undefined;
  /** `true` when the attempt failed with a network error. */
  readonly networkError: boolean;
  /** Milliseconds left of the request's total timeout (Infinity: none). */
  readonly remaining: number;
}

/**
 * Milliseconds to wait before the next attempt, or `undefined` when the
 * policy does not retry this outcome (the user's `shouldRetry` is asked
 * after this, about the retries it allows).
 */
export function retryDelay(
  policy: RetryPolicy,
  outcome: AttemptOutcome,
): number | undefined {
  const { status } = outcome;
  if (
    outcome.attempt >= policy.limit || !outcome.replayable ||
    !policy.methods.has(outcome.method)
  ) {
    return undefined;
  }
  let delay: number | undefined;
  if (status !== undefined) {
    if (!policy.statusCodes.has(status)) return undefined;
    const after = parseRetryAfter(outcome.retryAfter);
    if (after !== undefined) {
      if (after > policy.maxRetryAfter) return undefined;
      delay = after;
    }
  } else if (!outcome.networkError) {
    return undefined;
  }
  delay ??= policy.backoff(outcome.attempt + 1);
  if (!(delay >= 0)) delay = 0;
  // A wait the total timeout would cut short only delays the error.
  return delay >= outcome.remaining ? undefined : delay;
}

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
