/**
 * The retry budget (`retry.budget`): retries may add at most `ratio` of the
 * requests of the last 10 seconds, plus `minPerSecond` a second, so that a
 * failing upstream is not hit by several times its normal load.
 *
 * @module
 */
import { checkKeys, checkObject, type KeyRegistry, keySet } from "./_checks.ts";

/**
 * The `retry.budget` option.
 *
 * @example
 * ```ts
 * import { Session } from "@x/sessions";
 * await using session = new Session({
 *   retry: { limit: 2, budget: { ratio: 0.1, minPerSecond: 10 } },
 * });
 * ```
 */
export interface RetryBudgetOptions {
  /** Retries as a share of the requests of the last 10 s (0.1: 10%). */
  ratio: number;
  /** Retries allowed a second whatever the traffic. @default 0 */
  minPerSecond?: number;
}

const KEYS: KeyRegistry<RetryBudgetOptions> = {
  ratio: true,
  minPerSecond: true,
};
const KEY_SET = keySet(KEYS);

// The budget counts in one-second buckets over this many seconds.
const SECONDS = 10;

/**
 * A checked `retry.budget` as a new {@linkcode RetryBudget}.
 *
 * @throws {TypeError | RangeError} naming `action` for a bad value.
 */
export function parseRetryBudget(value: unknown, action: string): RetryBudget {
  checkObject(value, action, "retry.budget");
  checkKeys(value, KEY_SET, action, "retry.budget.");
  const { ratio, minPerSecond = 0 } = value as Record<string, unknown>;
  if (typeof ratio !== "number" || !(ratio >= 0) || ratio > 1_000) {
    throw new RangeError(
      `Cannot ${action} as 'retry.budget.ratio' must be a number from 0 to 1000: current value is ${ratio}`,
    );
  }
  if (
    typeof minPerSecond !== "number" || !(minPerSecond >= 0) ||
    !Number.isFinite(minPerSecond)
  ) {
    throw new RangeError(
      `Cannot ${action} as 'retry.budget.minPerSecond' must be a non-negative number: current value is ${minPerSecond}`,
    );
  }
  return new RetryBudget(ratio, minPerSecond);
}

/** Requests and retries of the last 10 s, and whether one more retry fits. */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #requests = new Float64Array(SECONDS);
  readonly #retries = new Float64Array(SECONDS);
  #second = -Infinity;

  constructor(ratio: number, minPerSecond: number) {
    this.#ratio = ratio;
    this.#floor = minPerSecond * SECONDS;
  }

  /** A request (not a retry) starts. */
  request(now: number): void {
    this.#requests[this.#bucket(now)]++;
  }

  /** `true` (and counted) when one more retry fits the budget. */
  tryRetry(now: number): boolean {
    const bucket = this.#bucket(now);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < SECONDS; i++) {
      requests += this.#requests[i];
      retries += this.#retries[i];
    }
    if (retries + 1 > this.#ratio * requests + this.#floor) return false;
    this.#retries[bucket]++;
    return true;
  }

  // The bucket of `now`, emptying the ones of seconds gone by.
  #bucket(now: number): number {
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      const gone = Math.min(second - this.#second, SECONDS);
      // Empty the buckets of the seconds after the last one seen, up to now.
      for (let i = 0; i < gone; i++) {
        const index = (((second - i) % SECONDS) + SECONDS) % SECONDS;
        this.#requests[index] = 0;
        this.#retries[index] = 0;
      }
      this.#second = second;
    }
    return second % SECONDS;
  }
}
