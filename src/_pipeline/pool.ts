// The pool of a session: its adapter (the one given, or made on first use)
// and the limiter sized for it. The adapter decides things the session
// needs before its first request (its limits, its User-Agent), so both are
// made on first use, not in the constructor.
import type { PoolAdapter, PoolHints } from "../adapters/adapter.ts";
import { defaultAdapter } from "../adapters/default.ts";
import type { SessionConfig } from "../_config.ts";
import { Limiter } from "../limiter.ts";

export class Pool {
  readonly #config: SessionConfig;
  readonly #hints: PoolHints;
  readonly #onMade: (adapter: PoolAdapter) => void;
  #adapter: PoolAdapter | undefined;
  #limiter: Limiter | undefined;

  /** `onMade` runs once, when the adapter is made or first taken. */
  constructor(config: SessionConfig, onMade: (adapter: PoolAdapter) => void) {
    this.#config = config;
    this.#hints = hintsOf(config);
    this.#onMade = onMade;
  }

  /** The adapter, if made yet. */
  get made(): PoolAdapter | undefined {
    return this.#adapter;
  }

  /** The adapter, made now if it was not. */
  get adapter(): PoolAdapter {
    return this.#adapter ?? this.#makeAdapter();
  }

  /** Make the adapter now (before the first request is prepared). */
  make(): void {
    if (this.#adapter === undefined) this.#makeAdapter();
  }

  get limiter(): Limiter {
    return this.#limiter ?? this.#makeLimiter();
  }

  /** Reject every queued request (destroy()). */
  rejectQueued(error: unknown): void {
    this.#limiter?.rejectAll(error);
  }

  /** Reject the queued requests the rate limits hold back (close()). */
  rejectRateHeld(error: unknown): void {
    this.#limiter?.rejectRateHeld(error);
  }

  /** Close the adapter's connections, if the session owns it. */
  close(): Promise<void> {
    const adapter = this.#config.ownsAdapter ? this.#adapter : undefined;
    return adapter?.close() ?? Promise.resolve();
  }

  /** Drop the adapter's connections now, if the session owns it. */
  destroy(): Promise<void> {
    const adapter = this.#config.ownsAdapter ? this.#adapter : undefined;
    return adapter?.destroy() ?? Promise.resolve();
  }

  #makeAdapter(): PoolAdapter {
    const option = this.#config.adapter;
    const hints = this.#hints;
    const adapter = option === undefined
      ? defaultAdapter(hints)
      : typeof option === "function"
      ? option(hints)
      : option;
    this.#adapter = adapter;
    this.#onMade(adapter);
    return adapter;
  }

  #makeLimiter(): Limiter {
    const adapter = this.adapter;
    const max = adapter.maxInFlight ?? 0;
    const { limit, limitPerHost, maxQueue } = this.#config.limits;
    return this.#limiter = new Limiter({
      limit: atMost(limit, max),
      limitPerHost: atMost(limitPerHost, max),
      maxQueue,
      deferHandoff: adapter.deferHandoff === true,
      gate: this.#config.rateGate,
    });
  }
}

/** What the session tells the adapters it makes. */
function hintsOf(config: SessionConfig): PoolHints {
  const hints: { -readonly [K in keyof PoolHints]: PoolHints[K] } = {
    limit: config.limits.limit,
    limitPerHost: config.limits.limitPerHost,
  };
  if (config.tls !== undefined) hints.tls = config.tls;
  if (config.socketPath !== undefined) hints.socketPath = config.socketPath;
  if (config.http2 !== false) hints.http2 = config.http2;
  return hints;
}

/** A session limit bounded by an adapter's `maxInFlight` (0: none). */
function atMost(limit: number, max: number): number {
  return max > 0 && limit > max ? max : limit;
}
