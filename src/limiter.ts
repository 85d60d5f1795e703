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
import type { RateGate, RateTicket } from "./rate_limit.ts";
import { MAX_TIMER } from "./_timers.ts";

/**
 * A light stand-in for `AbortSignal` (a session's call is one): `aborted`,
 * `reason`, and listeners for `"abort"` only.
 */
export interface AbortSource {
  /** `true` once aborted. */
  readonly aborted: boolean;
  /** Why it was aborted. */
  readonly reason: unknown;
  /** Call `listener` once, when aborted. */
  addEventListener(type: "abort", listener: () => void): void;
  /** Forget a listener. */
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * Options of {@linkcode Limiter}.
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
  /** Rate limits a request must also fit before it starts (`rateLimit`). */
  gate?: RateGate;
}

/**
 * A held slot of a {@linkcode Limiter}. Release it once; `using` releases it
 * at the end of the block.
 */
export interface Permit extends Disposable {
  /** The origin the permit is for. */
  readonly origin: string;
  /** Give the slot back. Idempotent. */
  release(): void;
  /**
   * The request's answer (or failure) came: its rate-limit slot counts
   * from now. Idempotent; nothing without rate limits.
   */
  answered(): void;
}

/**
 * A request waiting in a {@linkcode Limiter}'s queue. `acquire()` queues a
 * waiter of its own; a session queues its call itself (see `enqueue`), so
 * a queued request costs no promise of its own.
 */
export interface QueueEntry {
  readonly origin: string;
  readonly priority: number;
  /** The rate limits apply to it (not `rateLimit: false`). */
  readonly rated: boolean;
  /** Set by the limiter once the entry left the queue. */
  gone: boolean;
  /** It got a permit. */
  admit(permit: Permit): void;
  /**
   * The limiter gave up on it: the session was destroyed, or (`closing`)
   * closed while it waited for its rate limit.
   */
  refuse(reason: unknown, closing?: boolean): void;
}

// What acquire() queues. One aborted while queued stays in the queue,
// marked `gone`, until a drain passes it: finding it there would cost a
// scan of a queue that may hold 100,000.
class Waiter implements QueueEntry {
  readonly origin: string;
  readonly priority: number;
  readonly rated: boolean;
  gone = false;
  readonly #resolve: (permit: Permit) => void;
  readonly #reject: (error: unknown) => void;
  #signal: AbortSource | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    origin: string,
    priority: number,
    rated: boolean,
    resolve: (permit: Permit) => void,
    reject: (error: unknown) => void,
  ) {
    this.origin = origin;
    this.priority = priority;
    this.rated = rated;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Reject with the signal's reason when it aborts (after `leave`). */
  follow(signal: AbortSource, leave: () => void): void {
    this.#signal = signal;
    this.#onAbort = () => {
      leave();
      this.#reject(signal.reason);
    };
    signal.addEventListener("abort", this.#onAbort);
  }

  admit(permit: Permit): void {
    this.#unfollow();
    this.#resolve(permit);
  }

  refuse(reason: unknown): void {
    this.#unfollow();
    this.#reject(reason);
  }

  #unfollow(): void {
    if (this.#onAbort) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
    }
  }
}

/**
 * Queue `entry` (a session's call) without a promise; `false` when the
 * queue is at `maxQueue`. When its turn comes, `entry.admit()` gets the
 * permit.
 */
export let enqueue: (limiter: Limiter, entry: QueueEntry) => boolean;
/** Take `entry` out of the queue (it was aborted). Idempotent. */
export let withdraw: (limiter: Limiter, entry: QueueEntry) => void;

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
  #gate: RateGate | undefined;
  #ticket: RateTicket | undefined;

  constructor(
    release: (origin: string) => void,
    origin: string,
    gate?: RateGate,
    ticket?: RateTicket,
  ) {
    this.#release = release;
    this.origin = origin;
    this.#gate = gate;
    this.#ticket = ticket;
  }

  answered(): void {
    const ticket = this.#ticket;
    if (ticket === undefined) return;
    this.#ticket = undefined;
    this.#gate!.answered(ticket, performance.now());
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
 */
export class Limiter {
  #limit: number;
  #limitPerHost: number;
  #maxQueue: number;
  #deferHandoff: boolean;
  #active = 0;
  #perHost = new Map<string, number>();
  #queue: QueueEntry[] = [];
  // Waiters in #queue not gone.
  #waiting = 0;
  #scheduled = false;
  // Rate limits: the gate, the wake-up for waiters it holds back, and
  // what it held back at the last drain (new requests queue behind them).
  // The wake-up is a timer of its own, and referenced: requests waiting for
  // their rate limit are work to do (a script awaiting them must not exit),
  // and it is cleared as soon as none waits.
  readonly #gate: RateGate | undefined;
  #wake: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = Infinity;
  #rateHeld = new Set<string>();
  #totalHeld = false;

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
    this.#gate = options.gate;
  }

  /**
   * Permits held now.
   */
  get active(): number {
    return this.#active;
  }

  /**
   * Requests waiting for a permit now.
   */
  get queued(): number {
    return this.#waiting;
  }

  /**
   * Take a permit at once if one is free, without queueing.
   *
   * @param origin The origin the request goes to.
   * @returns A permit, or `undefined` when over a limit.
   */
  tryAcquire(origin: string, rated = true): Permit | undefined {
    // Waiters are woken as soon as capacity frees up, so a queued waiter can
    // only be blocked by its own origin's limit, which a new request for that
    // origin then hits too. While a deferred wake-up is pending, queue.
    if (this.#scheduled || !this.#fits(origin)) return undefined;
    if (rated && this.#gate !== undefined && !this.#rateFits(origin)) {
      return undefined;
    }
    return this.#take(origin, rated);
  }

  // Fits the rate limits, and no request the gate holds back for the same
  // reason waits ahead of it.
  #rateFits(origin: string): boolean {
    if (this.#totalHeld || this.#rateHeld.has(origin)) {
      if (this.#waiting > 0) return false;
      this.#totalHeld = false;
      this.#rateHeld.clear();
    }
    return this.#gate!.wait(origin, performance.now()) === 0;
  }

  /**
   * Wait for a permit. Higher `priority` goes first; equal priorities go in
   * arrival order.
   *
   * @param origin The origin the request goes to.
   * @param options `priority` (default 0) and an abort `signal`.
   * @returns The permit.
   * @throws {QueueFullError} when the queue is at `maxQueue`.
   */
  acquire(
    origin: string,
    options: {
      priority?: number;
      signal?: AbortSignal | AbortSource;
      rated?: boolean;
    } = {},
  ): Promise<Permit> {
    const rated = options.rated ?? true;
    const permit = this.tryAcquire(origin, rated);
    if (permit) return Promise.resolve(permit);
    if (this.#waiting >= this.#maxQueue) {
      return Promise.reject(new QueueFullError(this.#maxQueue));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Permit>((resolve, reject) => {
      const waiter = new Waiter(
        origin,
        options.priority ?? 0,
        rated,
        resolve,
        reject,
      );
      if (signal) waiter.follow(signal, () => this.#withdraw(waiter));
      this.#insert(waiter);
    });
  }

  /**
   * Reject every waiting request with `reason` (used by `destroy()`).
   *
   * @param reason The rejection reason.
   */
  rejectAll(reason: unknown): void {
    const entries = this.#queue;
    this.#queue = [];
    this.#waiting = 0;
    this.#stopWake();
    for (const entry of entries) {
      if (entry.gone) continue;
      entry.gone = true;
      entry.refuse(reason);
    }
  }

  /**
   * Reject the waiting requests the rate limits hold back with `reason`
   * (used by `close()`: they could wait for minutes).
   *
   * @param reason The rejection reason.
   */
  rejectRateHeld(reason: unknown): void {
    const gate = this.#gate;
    if (gate === undefined) return;
    const now = performance.now();
    for (const entry of this.#queue) {
      if (entry.gone || !entry.rated || gate.wait(entry.origin, now) === 0) {
        continue;
      }
      this.#withdraw(entry);
      entry.refuse(reason, true);
    }
  }

  // Drain again in `ms` (the earliest a held-back request may start).
  #wakeIn(ms: number): void {
    const at = performance.now() + ms;
    if (this.#wake !== undefined) {
      if (this.#wakeAt <= at) return;
      clearTimeout(this.#wake);
    }
    this.#wakeAt = at;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#wakeAt = Infinity;
      this.#drain();
    }, Math.min(Math.ceil(ms), MAX_TIMER));
  }

  #stopWake(): void {
    if (this.#wake !== undefined) clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#wakeAt = Infinity;
  }

  // An entry leaves the queue before its turn (aborted). Idempotent.
  #withdraw(entry: QueueEntry): void {
    if (entry.gone) return;
    entry.gone = true;
    this.#waiting--;
    // Nobody left for the rate limits' wake-up.
    if (this.#waiting === 0) this.#stopWake();
    // Drop aborted entries once they are most of a long queue, so a queue
    // whose head never moves cannot grow with them.
    const queue = this.#queue;
    if (queue.length > 64 && this.#waiting * 2 < queue.length) {
      this.#queue = queue.filter((waiting) => !waiting.gone);
    }
  }

  static {
    enqueue = (limiter, entry) => {
      if (limiter.#waiting >= limiter.#maxQueue) return false;
      limiter.#insert(entry);
      return true;
    };
    withdraw = (limiter, entry) => limiter.#withdraw(entry);
  }

  // Given to each permit: gives its slot back.
  readonly #release = (origin: string): void => {
    this.#active--;
    if (this.#limitPerHost > 0) {
      const count = this.#perHost.get(origin)! - 1;
      if (count === 0) this.#perHost.delete(origin);
      else this.#perHost.set(origin, count);
    }
    if (this.#waiting === 0) {
      // Only aborted waiters left, if any.
      if (this.#queue.length > 0) this.#queue = [];
      return;
    }
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

  #take(origin: string, rated: boolean): Permit {
    let ticket: RateTicket | undefined;
    if (rated && this.#gate !== undefined) {
      ticket = this.#gate.record(origin, performance.now());
    }
    this.#active++;
    if (this.#limitPerHost > 0) {
      this.#perHost.set(origin, (this.#perHost.get(origin) ?? 0) + 1);
    }
    return new HeldPermit(this.#release, origin, this.#gate, ticket);
  }

  #insert(waiter: QueueEntry): void {
    const queue = this.#queue;
    // Binary search: after every waiter with priority >= this one's.
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (queue[mid].priority >= waiter.priority) low = mid + 1;
      else high = mid;
    }
    if (low === queue.length) queue.push(waiter);
    else queue.splice(low, 0, waiter);
    this.#waiting++;
    if (this.#gate !== undefined && waiter.rated) this.#holdBack(waiter);
  }

  // A request queued for its rate limit: wake the queue when it may start.
  #holdBack(waiter: QueueEntry): void {
    const now = performance.now();
    const wait = this.#gate!.wait(waiter.origin, now);
    if (wait === 0) return;
    if (this.#gate!.totalFull(now)) this.#totalHeld = true;
    else this.#rateHeld.add(waiter.origin);
    this.#wakeIn(wait);
  }

  #drain(): void {
    const queue = this.#queue;
    const gate = this.#gate;
    let now = 0;
    let soonest = Infinity;
    if (gate !== undefined) {
      now = performance.now();
      this.#rateHeld.clear();
      this.#totalHeld = false;
    }
    for (let i = 0; i < queue.length;) {
      const waiter = queue[i];
      if (waiter.gone) {
        take(queue, i);
        continue;
      }
      if (this.#limit > 0 && this.#active >= this.#limit) break;
      if (!this.#fits(waiter.origin)) {
        i++;
        continue;
      }
      if (gate !== undefined && waiter.rated) {
        const wait = gate.wait(waiter.origin, now);
        if (wait > 0) {
          soonest = Math.min(soonest, wait);
          // Over the session-wide window, no rated request may start.
          if (gate.totalFull(now)) {
            this.#totalHeld = true;
            break;
          }
          this.#rateHeld.add(waiter.origin);
          i++;
          continue;
        }
      }
      take(queue, i);
      this.#waiting--;
      waiter.gone = true;
      waiter.admit(this.#take(waiter.origin, waiter.rated));
    }
    if (soonest !== Infinity) this.#wakeIn(soonest);
    else this.#stopWake();
  }
}

// Remove queue[i]; at the head, shift() (which V8 and JSC do without moving
// the rest).
function take(queue: QueueEntry[], i: number): void {
  if (i === 0) queue.shift();
  else queue.splice(i, 1);
}
