/**
 * Connection limits: a total limit and a per-origin limit, with a bounded
 * priority queue for the requests over them.
 *
 * Every request holds one permit from the moment it is sent until its
 * connection is free again (its body read, cancelled or failed). Neither
 * undici, Deno nor Bun caps total connections, so the session enforces the
 * limits here.
 *
 * @module
 */
import { QueueFullError } from "./errors.ts";
import { checkBoolean, checkCount, checkObject } from "./_checks.ts";

/**
 * Options of {@linkcode Limiter}.
 *
 * @example
 * ```ts
 * import { Limiter, type LimiterOptions } from "@x/sessions";
 * const options: LimiterOptions = { limit: 10, limitPerHost: 2, maxQueue: 1_000 };
 * const limiter = new Limiter(options);
 * ```
 */
export interface LimiterOptions {
  /** Maximum permits over all origins; 0 means no limit. @default 0 */
  limit?: number;
  /** Maximum permits per origin; 0 means no limit. @default 0 */
  limitPerHost?: number;
  /** Maximum waiting requests; more are rejected at once. @default Infinity */
  maxQueue?: number;
  /**
   * Wake the next waiter in a later macrotask instead of synchronously. Some
   * pools (Deno's) open a spare connection when a queued request starts in
   * the same tick as the previous response ends.
   * @default false
   */
  deferHandoff?: boolean;
}

/**
 * A held slot of a {@linkcode Limiter}. Release it once; `using` releases it
 * at the end of the block.
 *
 * @example
 * ```ts
 * import { Limiter } from "@x/sessions";
 * const limiter = new Limiter({ limit: 1 });
 * using permit = await limiter.acquire("https://a.test");
 * console.log(permit.origin); // "https://a.test"
 * ```
 */
export interface Permit extends Disposable {
  /** The origin the permit is for. */
  readonly origin: string;
  /** Give the slot back. Idempotent. */
  release(): void;
}

interface Waiter {
  origin: string;
  priority: number;
  seq: number;
  resolve: (permit: Permit) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The limits of a session, checked: see {@linkcode parseLimits}. */
export interface Limits {
  readonly limit: number;
  readonly limitPerHost: number;
  readonly maxQueue: number;
}

/**
 * Check `limit`, `limitPerHost` and `maxQueue` (what a session and a
 * limiter take), with their defaults.
 */
export function parseLimits(
  options: { limit?: unknown; limitPerHost?: unknown; maxQueue?: unknown },
  action: string,
  defaults: Limits,
): Limits {
  const { limit, limitPerHost, maxQueue } = options;
  return {
    limit: limit === undefined
      ? defaults.limit
      : checkCount("limit", limit, action),
    limitPerHost: limitPerHost === undefined
      ? defaults.limitPerHost
      : checkCount("limitPerHost", limitPerHost, action),
    maxQueue: maxQueue === undefined
      ? defaults.maxQueue
      : checkCount("maxQueue", maxQueue, action, true),
  };
}

const NO_LIMITS: Limits = { limit: 0, limitPerHost: 0, maxQueue: Infinity };

class HeldPermit implements Permit {
  readonly origin: string;
  #release: ((origin: string) => void) | undefined;

  constructor(release: (origin: string) => void, origin: string) {
    this.#release = release;
    this.origin = origin;
  }

  release(): void {
    const release = this.#release;
    if (release === undefined) return;
    this.#release = undefined;
    release(this.origin);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Total and per-origin limits with a FIFO queue ordered by priority.
 *
 * @example Hold a permit for the length of a block
 * ```ts
 * import { Limiter } from "@x/sessions";
 *
 * const limiter = new Limiter({ limit: 2 });
 * {
 *   using permit = await limiter.acquire("https://a.test");
 *   console.log(limiter.active, permit.origin); // 1 "https://a.test"
 * }
 * console.log(limiter.active); // 0
 * ```
 */
export class Limiter {
  #limit: number;
  #limitPerHost: number;
  #maxQueue: number;
  #deferHandoff: boolean;
  #active = 0;
  #perHost = new Map<string, number>();
  #queue: Waiter[] = [];
  #seq = 0;
  #scheduled = false;

  /**
   * Create a limiter.
   *
   * @param options Limits and queue bound.
   * @throws {TypeError | RangeError} for a limit that is not a
   *   non-negative integer, or a `deferHandoff` that is not a boolean.
   */
  constructor(options: LimiterOptions = {}) {
    const action = "create limiter";
    checkObject(options, action);
    const limits = parseLimits(options, action, NO_LIMITS);
    this.#limit = limits.limit;
    this.#limitPerHost = limits.limitPerHost;
    this.#maxQueue = limits.maxQueue;
    this.#deferHandoff = options.deferHandoff === undefined
      ? false
      : checkBoolean("deferHandoff", options.deferHandoff, action);
  }

  /**
   * Permits held now.
   *
   * @example
   * ```ts
   * import { Limiter } from "@x/sessions";
   * console.log(new Limiter().active); // 0
   * ```
   */
  get active(): number {
    return this.#active;
  }

  /**
   * Requests waiting for a permit now.
   *
   * @example
   * ```ts
   * import { Limiter } from "@x/sessions";
   * console.log(new Limiter().queued); // 0
   * ```
   */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Take a permit at once if one is free, without queueing.
   *
   * @example
   * ```ts
   * import { Limiter } from "@x/sessions";
   * const limiter = new Limiter({ limit: 1 });
   * const permit = limiter.tryAcquire("https://a.test");
   * console.log(permit !== undefined, limiter.tryAcquire("https://a.test")); // true undefined
   * permit?.release();
   * ```
   *
   * @param origin The origin the request goes to.
   * @returns A permit, or `undefined` when over a limit.
   */
  tryAcquire(origin: string): Permit | undefined {
    // Waiters are woken as soon as capacity frees up, so a queued waiter can
    // only be blocked by its own origin's limit, which a new request for that
    // origin then hits too. While a deferred wake-up is pending, queue.
    if (this.#scheduled || !this.#fits(origin)) return undefined;
    return this.#take(origin);
  }

  /**
   * Wait for a permit. Higher `priority` goes first; equal priorities go in
   * arrival order.
   *
   * @example
   * ```ts
   * import { Limiter } from "@x/sessions";
   * const limiter = new Limiter({ limit: 1 });
   * const first = await limiter.acquire("https://a.test");
   * const second = limiter.acquire("https://a.test");
   * first.release();
   * (await second).release();
   * ```
   *
   * @param origin The origin the request goes to.
   * @param options `priority` (default 0) and an abort `signal`.
   * @returns The permit.
   * @throws {QueueFullError} when the queue is at `maxQueue`.
   */
  acquire(
    origin: string,
    options: { priority?: number; signal?: AbortSignal } = {},
  ): Promise<Permit> {
    const permit = this.tryAcquire(origin);
    if (permit) return Promise.resolve(permit);
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(new QueueFullError(this.#maxQueue));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = {
        origin,
        priority: options.priority ?? 0,
        seq: this.#seq++,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.#queue.indexOf(waiter);
          if (index !== -1) this.#queue.splice(index, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#insert(waiter);
    });
  }

  /**
   * Reject every waiting request with `reason` (used by `destroy()`).
   *
   * @example
   * ```ts
   * import { Limiter } from "@x/sessions";
   * new Limiter().rejectAll(new Error("closing"));
   * ```
   *
   * @param reason The rejection reason.
   */
  rejectAll(reason: unknown): void {
    const waiters = this.#queue;
    this.#queue = [];
    for (const waiter of waiters) {
      if (waiter.onAbort) {
        waiter.signal?.removeEventListener("abort", waiter.onAbort);
      }
      waiter.reject(reason);
    }
  }

  // Given to each permit: gives its slot back.
  readonly #release = (origin: string): void => {
    this.#active--;
    if (this.#limitPerHost > 0) {
      const count = this.#perHost.get(origin)! - 1;
      if (count === 0) this.#perHost.delete(origin);
      else this.#perHost.set(origin, count);
    }
    if (this.#queue.length === 0) return;
    if (this.#deferHandoff) {
      if (!this.#scheduled) {
        this.#scheduled = true;
        setTimeout(() => {
          this.#scheduled = false;
          this.#drain();
        }, 0);
      }
    } else {
      this.#drain();
    }
  };

  #fits(origin: string): boolean {
    if (this.#limit > 0 && this.#active >= this.#limit) return false;
    if (
      this.#limitPerHost > 0 &&
      (this.#perHost.get(origin) ?? 0) >= this.#limitPerHost
    ) return false;
    return true;
  }

  #take(origin: string): Permit {
    this.#active++;
    if (this.#limitPerHost > 0) {
      this.#perHost.set(origin, (this.#perHost.get(origin) ?? 0) + 1);
    }
    return new HeldPermit(this.#release, origin);
  }

  #insert(waiter: Waiter): void {
    const queue = this.#queue;
    // Binary search: after every waiter with priority >= this one's.
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (queue[mid].priority >= waiter.priority) low = mid + 1;
      else high = mid;
    }
    queue.splice(low, 0, waiter);
  }

  #drain(): void {
    const queue = this.#queue;
    for (let i = 0; i < queue.length;) {
      if (this.#limit > 0 && this.#active >= this.#limit) return;
      const waiter = queue[i];
      if (!this.#fits(waiter.origin)) {
        i++;
        continue;
      }
      queue.splice(i, 1);
      if (waiter.onAbort) {
        waiter.signal?.removeEventListener("abort", waiter.onAbort);
      }
      waiter.resolve(this.#take(waiter.origin));
    }
  }
}
