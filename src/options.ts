/**
 * The options of a session and of one request: {@linkcode SessionOptions},
 * {@linkcode RequestOptions}, {@linkcode TimeoutOptions}. Their parsing
 * lives with each feature (see `_config.ts`).
 *
 * @module
 */
import type { PoolAdapter, PoolHints } from "./adapters/adapter.ts";
import type { CookieJar } from "./cookies.ts";
import type { SessionEvent } from "./events.ts";
import type { HeadersInput } from "./headers.ts";
import type { Http2Mode } from "./http2.ts";
import type { RateLimitOptions } from "./rate_limit.ts";
import type { CircuitBreakerOptions } from "./circuit_breaker.ts";
import type { Middleware } from "./middleware.ts";
import type { ProgressCallback, RedirectMode, TlsOptions } from "./network.ts";
import type { RetryOptions } from "./retry.ts";
import type { SearchParams } from "./url.ts";

/**
 * Decides from a status code whether a response is an error.
 *
 * @example
 * ```ts
 * import { Session, type StatusPredicate } from "@x/sessions";
 * const serverErrorsOnly: StatusPredicate = (status) => status >= 500;
 * await using session = new Session({ raiseForStatus: serverErrorsOnly });
 * ```
 */
export type StatusPredicate = (status: number) => boolean;

/**
 * Options of a {@linkcode Session}. Durations are in milliseconds.
 *
 * @example
 * ```ts
 * import { Session, type SessionOptions } from "@x/sessions";
 * const options: SessionOptions = {
 *   baseUrl: "https://api.example.com/v1",
 *   headers: { authorization: "Bearer t0ken" },
 *   timeout: 10_000,
 *   limit: 100,
 *   limitPerHost: 10,
 * };
 * await using session = new Session(options);
 * ```
 */
export interface SessionOptions {
  /**
   * Absolute http(s) URL that relative request URLs are appended to:
   * "https://api.test/v1" + "users" gives "https://api.test/v1/users" (with
   * or without slashes on either side). Absolute request URLs ignore it.
   * Its origin is where the session's credentials go (see `headers`); a
   * `user:password@` in it becomes `Authorization: Basic` for that origin
   * only.
   */
  baseUrl?: string | URL;
  /**
   * Headers sent with every request; request headers are merged over them.
   * With a `baseUrl`, `Authorization`, `Proxy-Authorization` and `Cookie`
   * go only to requests to its origin (scheme, host and port): a request to
   * another origin carries them only if it passes them itself. Without a
   * `baseUrl`, every header goes to every origin. Hop-by-hop headers
   * (`Connection`, `Upgrade`, `Transfer-Encoding`...) are refused.
   * @default { "user-agent": "x-sessions/<version>" } where the runtime's client sends none (Node); remove it with `{ "user-agent": undefined }`
   */
  headers?: HeadersInput;
  /**
   * Time limits in milliseconds. A number limits the whole request, from
   * the call until the body is read (queueing and retries included); an
   * object also limits phases: `{ total, connect, headers, bodyIdle }` (see
   * {@linkcode TimeoutOptions}). `0` or `Infinity` means none.
   * @default { total: 300_000 }
   */
  timeout?: number | TimeoutOptions;
  /**
   * Retries: a number of retries, or a policy (see
   * {@linkcode RetryOptions}). `0` turns them off. A kept-alive connection
   * the server closed is always retried once for idempotent requests.
   * @default { limit: 2 } (idempotent methods; 408, 413, 429, 500, 502, 503, 504 and network errors)
   */
  retry?: number | RetryOptions;
  /**
   * Functions around every exchange, outermost first (see
   * {@linkcode Middleware}).
   */
  middleware?: readonly Middleware[];
  /**
   * Called with an event for each step of every exchange (see
   * {@linkcode SessionEvent}).
   */
  observe?: (event: SessionEvent) => void;
  /**
   * Maximum simultaneous connections over all hosts; `0` means no limit.
   * Requests over it wait in a queue.
   * @default 100
   */
  limit?: number;
  /** Maximum simultaneous connections per origin; `0` means no limit. @default 0 */
  limitPerHost?: number;
  /**
   * Maximum requests waiting for a connection; more are rejected at once
   * with `QueueFullError`. `0` means requests never wait.
   * @default Infinity
   */
  maxQueue?: number;
  /**
   * Which statuses make the verb methods throw `HttpError`: `true` for any
   * status outside 200-299, `false` for none, or a predicate returning
   * `true` for an error. `session.fetch()` never throws for a status.
   * @default true
   */
  raiseForStatus?: boolean | StatusPredicate;
  /**
   * The pool adapter, or a function that creates one from the session's
   * limits. The session owns it and closes it in `close()`. By default the
   * runtime's: undici on Node, `Deno.createHttpClient` on Deno,
   * `Bun.FetchSession` on Bun, plain fetch elsewhere.
   */
  adapter?: PoolAdapter | ((hints: PoolHints) => PoolAdapter);
  /**
   * Redirects: `"follow"` them (up to `maxRedirects`), return them
   * (`"manual"`), or throw `RedirectError` (`"error"`). Following one to
   * another origin drops the `Authorization`, `Cookie` and
   * `Proxy-Authorization` headers.
   * @default "follow"
   */
  redirect?: RedirectMode;
  /** Most redirects followed for one request; one more throws `RedirectError`. @default 10 */
  maxRedirects?: number;
  /**
   * Largest response body, decoded, in bytes: reading past it fails with
   * `ResponseSizeError`. `0` means no limit.
   * @default 0
   */
  maxResponseSize?: number;
  /** Called as response bodies are read (see {@linkcode ProgressCallback}). */
  onDownloadProgress?: ProgressCallback;
  /** Called as request bodies are sent (see {@linkcode ProgressCallback}). */
  onUploadProgress?: ProgressCallback;
  /**
   * Cookies to start with, sent to `baseUrl`'s host (which must be set) on
   * every path; the server can change them.
   */
  cookies?: Record<string, string>;
  /**
   * The cookie jar: by default each session has its own, empty. Pass a
   * {@linkcode CookieJar} to share one between sessions or to save it;
   * `false` turns cookies off (`Set-Cookie` is ignored).
   */
  cookieJar?: CookieJar | false;
  /**
   * Send every request through this http(s) proxy: `http://host:port`,
   * with `user:password@` for basic auth. https URLs are tunnelled with
   * `CONNECT`; http URLs are sent to the proxy.
   */
  proxy?: string | URL;
  /**
   * Without `proxy`, take proxies from the environment: `HTTP_PROXY` for
   * http URLs, `HTTPS_PROXY` for https URLs (`ALL_PROXY` for both), except
   * for hosts in `NO_PROXY`; lower-case names win. Read when the session is
   * created (Deno needs `--allow-env`).
   * @default false
   */
  trustEnv?: boolean;
  /** TLS settings: extra CAs, a client certificate, or `insecure`. */
  tls?: TlsOptions;
  /**
   * Connect to this unix domain socket for every request instead of the
   * URL's host (the URL still gives the `Host` header and the path).
   */
  socketPath?: string;
  /**
   * Speak HTTP/2: `true` offers it in the TLS handshake and falls back to
   * HTTP/1.1 when the server does not take it; `"prior-knowledge"` speaks
   * it without asking, over cleartext too (not on Bun). Requests to one
   * origin then share a connection, up to the streams the server allows.
   * `response.httpVersion` tells which version answered. With an adapter
   * instance, set it on the adapter (`adapter: (hints) => new
   * NodeAdapter({}, hints)` passes it on).
   * @default false
   */
  http2?: Http2Mode;
  /**
   * Rate limits: at most `requests` requests start in any `per` ms, per
   * origin (`perHost`) and over the session (`total`); a request waits in
   * the session's queue until both allow it. A 429 or 503 with
   * `Retry-After` pauses its origin; `RateLimit-*` headers slow it down
   * before its quota runs out.
   */
  rateLimit?: RateLimitOptions;
  /**
   * Per origin: after `failures` network errors, timeouts or 5xx within
   * `window` ms, requests to it fail at once with `CircuitOpenError`; after
   * `cooldown` ms one trial request goes through, and its success closes
   * the circuit again.
   */
  circuitBreaker?: CircuitBreakerOptions;
}

/**
 * Time limits by phase, in milliseconds; `0` or `Infinity` means none.
 *
 * Every phase is timed by the session's own timers. On Node `connect` and
 * `headers` are timed apart, as undici reports when a connection is made.
 * Deno and Bun do not report that, so there `connect` is enforced only
 * together with `headers`: the time to the response headers is limited to
 * `connect + headers` (which is never exceeded unless one of the two was).
 *
 * @example
 * ```ts
 * import { Session, type TimeoutOptions } from "@x/sessions";
 * const timeout: TimeoutOptions = { total: 30_000, connect: 2_000, headers: 10_000, bodyIdle: 5_000 };
 * await using session = new Session({ timeout });
 * ```
 */
export interface TimeoutOptions {
  /** The whole request: queueing, every attempt, the waits between them and reading the body. @default 300_000 */
  total?: number;
  /** Opening a connection (TCP and TLS). */
  connect?: number;
  /** From sending the request until the response headers arrive. */
  headers?: number;
  /** The longest gap between two chunks of the body while it is read. */
  bodyIdle?: number;
}

/**
 * Options of one request. Durations are in milliseconds.
 *
 * @example
 * ```ts
 * import { MockAdapter, type RequestOptions, Session } from "@x/sessions";
 * const adapter = new MockAdapter().route("GET", "/search", { json: [] });
 * await using session = new Session({ baseUrl: "https://api.test", adapter });
 * const options: RequestOptions = { params: { q: "x" }, headers: { "x-trace": "1" }, timeout: 5_000 };
 * await session.get("search", options).json();
 * ```
 */
export interface RequestOptions {
  /** Query parameters appended to the URL; arrays repeat the key, `undefined` skips. */
  params?: SearchParams;
  /** Headers merged over the session's; an `undefined` value removes one. */
  headers?: HeadersInput;
  /** A value sent as JSON (sets `content-type: application/json`). Excludes `body`. */
  json?: unknown;
  /** The body: string, bytes, Blob, FormData, URLSearchParams or a stream. */
  body?: BodyInit | null;
  /** Aborts the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Overrides the session's `timeout` for this request: a number replaces
   * the total; an object replaces the phases it names.
   */
  timeout?: number | TimeoutOptions;
  /** Overrides the session's `retry` policy (the fields given) for this request. */
  retry?: number | RetryOptions;
  /** Overrides the session's `raiseForStatus` for this request. */
  raiseForStatus?: boolean | StatusPredicate;
  /** Queue priority when over the limits: higher goes first. @default 0 */
  priority?: number;
  /**
   * `false`: this request skips the session's `rateLimit` (it neither
   * waits for it nor counts in it). @default true
   */
  rateLimit?: false;
  /** Overrides the session's `redirect` for this request. */
  redirect?: RedirectMode;
  /** Overrides the session's `maxRedirects` for this request. */
  maxRedirects?: number;
  /** Overrides the session's `maxResponseSize` for this request. */
  maxResponseSize?: number;
  /** Progress of reading this response's body (replaces the session's). */
  onDownloadProgress?: ProgressCallback;
  /** Progress of sending this request's body (replaces the session's). */
  onUploadProgress?: ProgressCallback;
}
