/**
 * The Bun adapter: `Bun.FetchSession` when the runtime has it (a pool the
 * session can close), else Bun's global `fetch`.
 *
 * @module
 */
import type {
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
  PoolHints,
  ProxyInfo,
} from "./adapter.ts";
import { fetchDispatch, type FetchHooks } from "./fetch.ts";
import { isGoaway, markClosed, markGoaway, refusedH2 } from "./_errors.ts";

import { bunTls } from "./_tls.ts";
import { type Http2Mode, mayUseH2 } from "../http2.ts";

const BUN_HOOKS: FetchHooks = {
  rejected: (error) => {
    throw markClosed(error);
  },
};

// Requests sent with `protocol: "h2"`: Bun never falls back to HTTP/1.1
// on them, so an answer came over h2.
const BUN_H2_HOOKS: FetchHooks = {
  httpVersion: "2",
  rejected: (error) => {
    throw isGoaway(error) ? markGoaway(error) : markClosed(error);
  },
};
// The same, leaving the rejection as it came (to tell a refused h2).
const BUN_H2_TRY_HOOKS: FetchHooks = { ...BUN_H2_HOOKS, rejected: undefined };

interface BunFetchSession {
  fetch(input: string, init: RequestInit): Promise<Response>;
  close(): void;
}

interface BunApi {
  FetchSession?: new (options?: Record<string, unknown>) => BunFetchSession;
}

/**
 * Options of {@linkcode BunAdapter}.
 *
 * @example
 * ```ts
 * import type { BunAdapterOptions } from "@x/sessions";
 * const options: BunAdapterOptions = { sessionOptions: { keepAlive: { idleTimeout: 10 } } };
 * ```
 */
export interface BunAdapterOptions {
  /**
   * Options passed to `new Bun.FetchSession()` (`tls`, `proxy`,
   * `keepAlive`, ...). `keepAlive.idleTimeout` is in seconds.
   * @default {}
   */
  sessionOptions?: Record<string, unknown>;
  /**
   * The session's `limit` and `limitPerHost` act as this when higher (see
   * {@linkcode BunAdapter}); `0` for no bound.
   * @default 64
   */
  maxInFlight?: number;
}

// Bun parks at most this many idle keep-alive sockets per process (all
// FetchSessions and the global fetch together; `keepAlive.maxIdleSockets`
// cannot raise it): more and it closes the extra ones, and the next
// requests open new connections.
const BUN_KEEPALIVE_SLOTS = 64;

/**
 * A pool adapter over `Bun.FetchSession`. Chosen automatically on Bun.
 *
 * Bun keeps at most 64 idle keep-alive connections per process. With more
 * requests in flight, answers that arrive together leave more than 64 idle
 * and Bun closes the rest, so the session would open new connections over
 * and over. A session on this adapter therefore runs at most 64 requests
 * at once (`maxInFlight`): its `limit` and `limitPerHost` act as 64 when
 * higher. Sessions in one process share Bun's 64.
 *
 * Without `Bun.FetchSession` (older Bun), requests go through the global
 * `fetch` and `close()` cannot close its shared connections.
 *
 * @example
 * ```ts ignore
 * import { BunAdapter, Session } from "@x/sessions";
 *
 * await using session = new Session({ adapter: new BunAdapter() });
 * ```
 */
export class BunAdapter implements PoolAdapter {
  /** Adapter name. */
  readonly name: string = "bun";
  /** The runtime's fetch sends a User-Agent of its own. */
  readonly sendsUserAgent: boolean = true;
  /** Requests run at once at most (see {@linkcode BunAdapterOptions}). */
  readonly maxInFlight: number;
  #options: Record<string, unknown>;
  #session: BunFetchSession | undefined;
  #fetch: ((input: string, init: RequestInit) => Promise<Response>) | undefined;
  #closed = false;
  #direct: Record<string, unknown>;
  #proxies = new WeakMap<ProxyInfo, Record<string, unknown>>();
  // With the session's `http2: true`: the init of requests that ask for h2,
  // and the origins that turned out to speak HTTP/1.1 only.
  #http2: Http2Mode;
  #h2Init: Record<string, unknown> | undefined;
  #h1Origins = new Set<string>();

  /**
   * Create the adapter. Does no I/O.
   *
   * @param options Options for `Bun.FetchSession`, and `maxInFlight`.
   * @param hints The session's TLS settings, unix socket path and `http2`
   *   mode (`true` lifts the default `maxInFlight`).
   * @throws {RangeError} when `maxInFlight` is not a non-negative integer.
   * @throws {TypeError} when `hints.http2` is `"prior-knowledge"` (Bun's
   *   fetch has no h2 over cleartext).
   */
  constructor(options: BunAdapterOptions = {}, hints?: PoolHints) {
    const base: Record<string, unknown> = {};
    if (hints?.tls !== undefined) base.tls = bunTls(hints.tls);
    if (hints?.socketPath !== undefined) base.unix = hints.socketPath;
    // Bun reads HTTP_PROXY and the like by itself: the session decides
    // which proxy each request uses, so none by default.
    else base.proxy = false;
    this.#options = { ...base, ...options.sessionOptions };
    this.#http2 = hints?.http2 ?? false;
    if (this.#http2 === "prior-knowledge") {
      throw new TypeError(
        `Cannot create BunAdapter as 'http2: "prior-knowledge"' (h2 over cleartext) is not supported on Bun: its fetch speaks HTTP/2 only over TLS (use http2: true with https URLs)`,
      );
    }
    // Over h2 a few connections carry every request: Bun's cap on idle
    // sockets (see BunAdapter) does not bind.
    const max = options.maxInFlight ??
      (this.#http2 ? 0 : BUN_KEEPALIVE_SLOTS);
    if (typeof max !== "number" || !Number.isInteger(max) || max < 0) {
      throw new RangeError(
        `Cannot create BunAdapter as 'maxInFlight' must be a non-negative integer: current value is ${max}`,
      );
    }
    this.maxInFlight = max;
    // Without FetchSession (older Bun), the same settings go on each fetch.
    this.#direct = base;
    if (this.#http2) this.#h2Init = { ...base, protocol: "h2" };
  }

  /**
   * `true` when requests go through a `Bun.FetchSession` the adapter owns.
   *
   * @example
   * ```ts
   * import { BunAdapter } from "@x/sessions";
   * console.log(new BunAdapter().pooled); // false until the first request
   * ```
   */
  get pooled(): boolean {
    return this.#session !== undefined;
  }

  /**
   * Send a request through the Bun fetch session.
   *
   * @example
   * ```ts ignore
   * import { BunAdapter, type PoolAdapter, Session } from "@x/sessions";
   *
   * // A session over Bun's FetchSession that logs every request slower than 500 ms.
   * const inner = new BunAdapter();
   * const logged: PoolAdapter = {
   *   name: "logged-bun",
   *   async dispatch(request) {
   *     const started = performance.now();
   *     const response = await inner.dispatch(request);
   *     const ms = performance.now() - started;
   *     if (ms > 500) console.log(`slow: ${request.method} ${request.url} ${ms} ms`);
   *     return response;
   *   },
   *   close: () => inner.close(),
   *   destroy: () => inner.destroy(),
   * };
   * await using session = new Session({ adapter: logged });
   * await session.get("https://example.com/").text();
   * ```
   *
   * @param request The prepared request.
   * @returns The response once its headers arrived.
   */
  dispatch(request: AdapterRequest): Promise<AdapterResponse> {
    // Kept short for the JIT: every request runs it.
    const fetchFn = this.#fetch ?? this.#open();
    if (fetchFn === undefined) {
      return Promise.reject(new Error("BunAdapter is closed"));
    }
    const proxy = request.proxy;
    if (proxy !== undefined) {
      return fetchDispatch(fetchFn, request, this.#proxyInit(proxy), BUN_HOOKS);
    }
    const h2Init = this.#h2Init;
    if (
      h2Init !== undefined && mayUseH2(this.#http2, request.origin) &&
      !this.#h1Origins.has(request.origin)
    ) {
      return this.#sendH2(fetchFn, request, h2Init);
    }
    return fetchDispatch(fetchFn, request, this.#direct, BUN_HOOKS);
  }

  // With `protocol: "h2"`; an origin whose server refuses h2 in the
  // handshake (nothing was sent) goes over HTTP/1.1 from then on.
  #sendH2(
    fetchFn: (input: string, init: RequestInit) => Promise<Response>,
    request: AdapterRequest,
    h2Init: Record<string, unknown>,
  ): Promise<AdapterResponse> {
    return fetchDispatch(fetchFn, request, h2Init, BUN_H2_TRY_HOOKS).catch(
      (error) => {
        if (!refusedH2(error) || request.body instanceof ReadableStream) {
          return BUN_H2_HOOKS.rejected!(error);
        }
        this.#h1Origins.add(request.origin);
        return fetchDispatch(fetchFn, request, this.#direct, BUN_HOOKS);
      },
    );
  }

  // The fetch function at first use: the adapter's FetchSession when Bun
  // has it, else the global fetch; `undefined` once closed.
  #open():
    | ((input: string, init: RequestInit) => Promise<Response>)
    | undefined {
    if (this.#closed) return undefined;
    const FetchSession = (globalThis as { Bun?: BunApi }).Bun?.FetchSession;
    if (FetchSession) {
      const session = new FetchSession(this.#options);
      this.#session = session;
      this.#fetch = (input, init) => session.fetch(input, init);
      this.#direct = {};
      if (this.#http2) this.#h2Init = { protocol: "h2" };
    } else {
      this.#fetch = fetch;
    }
    return this.#fetch;
  }

  // The init fields that send a request through `proxy` (made once each).
  #proxyInit(proxy: ProxyInfo): Record<string, unknown> {
    let init = this.#proxies.get(proxy);
    if (init === undefined) {
      init = {
        ...this.#direct,
        proxy: {
          url: proxy.url,
          ...(proxy.authorization !== undefined && {
            headers: { "proxy-authorization": proxy.authorization },
          }),
        },
      };
      this.#proxies.set(proxy, init);
    }
    return init;
  }

  /**
   * Close the fetch session's connections. Idempotent.
   *
   * @example
   * ```ts ignore
   * import { BunAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new BunAdapter() });
   * await session.get("https://example.com/").text();
   * // Waits for requests in flight, then calls the adapter's close(): every
   * // kept-alive connection closes and nothing holds the process open.
   * await session.close();
   * ```
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#session?.close();
    this.#session = undefined;
    this.#fetch = undefined;
    return Promise.resolve();
  }

  /**
   * Same as `close()`; the session aborts requests in flight itself.
   *
   * @example
   * ```ts ignore
   * import { BunAdapter, Session } from "@x/sessions";
   *
   * const session = new Session({ adapter: new BunAdapter() });
   * const pending = session.get("https://example.com/").catch((error) => error);
   * // Fails requests in flight, then calls the adapter's destroy(), which
   * // drops every connection at once.
   * await session.destroy();
   * console.log((await pending).name); // "SessionClosedError"
   * ```
   */
  destroy(): Promise<void> {
    return this.close();
  }
}
