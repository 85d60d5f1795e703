/**
 * The pool adapter interface: the small surface a session needs from a
 * runtime's connection pool. Built-in adapters cover undici (Node),
 * `Deno.createHttpClient` (Deno), `Bun.FetchSession` (Bun) and plain
 * `fetch`; {@linkcode MockAdapter} serves canned responses for tests. Write
 * your own to put a session over any other transport.
 *
 * @module
 */
import type { Http2Mode, HttpVersion } from "../http2.ts";
import type { TlsOptions } from "../network.ts";

/**
 * A request body as adapters receive it.
 *
 * @example
 * ```ts
 * import type { AdapterBody } from "@x/sessions";
 * const body: AdapterBody = JSON.stringify({ name: "Ada" });
 * ```
 */
export type AdapterBody =
  | string
  | Uint8Array
  | ReadableStream<Uint8Array>
  | null;

/**
 * One request, fully prepared by the session.
 *
 * @example
 * ```ts
 * import type { AdapterRequest, PoolAdapter } from "@x/sessions";
 * const seen: string[] = [];
 * export function record(inner: PoolAdapter): PoolAdapter {
 *   return {
 *     name: "recording",
 *     dispatch(request: AdapterRequest) {
 *       seen.push(`${request.method} ${request.origin}${request.path}`);
 *       return inner.dispatch(request);
 *     },
 *     close: () => inner.close(),
 *     destroy: () => inner.destroy(),
 *   };
 * }
 * ```
 */
export interface AdapterRequest {
  /** Upper-case method. */
  readonly method: string;
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** Path and query, starting with "/". */
  readonly path: string;
  /** `origin + path`. */
  readonly url: string;
  /** Final headers, lower-case names. Do not modify. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, or `null`. */
  readonly body: AdapterBody;
  /** Aborts the request and its body. */
  readonly signal: AbortSignal;
  /**
   * Call exactly once, after `dispatch` resolved, when the connection is
   * free again: the body was read to the end, cancelled, dumped or failed
   * (at once for a response without a body). Pass the error when the body
   * failed. The session's limits and `close()` rely on it.
   */
  readonly onDone: (error?: unknown) => void;
  /**
   * Set by an adapter that can abort the request itself more cheaply than
   * by watching `signal` (undici's adapter closes the
   * request's connection): the session calls it, once, with the reason
   * (a timeout, the user's signal, `destroy()`, or `close()` discarding a
   * body nobody reads). A request aborted before the adapter set it (while
   * the adapter loaded, say) is aborted the moment it is set: check
   * whether it settled before sending.
   */
  abortTransport?: (reason: unknown) => void;
  /**
   * Milliseconds the session allows to open a connection (`0`: no limit).
   * The session enforces it; an adapter may use it as a backstop for its
   * own connect timer, failing with `code` `"UND_ERR_CONNECT_TIMEOUT"` as
   * undici does.
   */
  readonly connectTimeout?: number;
  /**
   * Adapters with `PoolAdapter.reportsConnect` call this once the
   * connection the request goes out on is established (at once for a
   * reused connection). Call it as a method: `request.onConnect()`.
   */
  onConnect?(): void;
  /**
   * Longest gap between body chunks while the body is read (`0`: no
   * limit). Adapters enforce it by failing the body with an error whose
   * `code` is `"UND_ERR_BODY_TIMEOUT"`, as undici does.
   */
  readonly bodyIdleTimeout?: number;
  /**
   * Set by adapters that know it: `true` when the request went out on a
   * connection that served an earlier one, `false` on a new connection.
   */
  reused?: boolean;
  /**
   * The proxy to send this request through, or `undefined` to connect
   * directly. An adapter that cannot use proxies must reject the request.
   */
  readonly proxy?: ProxyInfo;
}

/**
 * A response as an adapter returns it; its body is read at most once.
 *
 * @example
 * ```ts
 * import type { AdapterResponse, PoolAdapter } from "@x/sessions";
 * export function statusOnly(inner: PoolAdapter): PoolAdapter {
 *   return {
 *     name: "status-only",
 *     async dispatch(request) {
 *       const response: AdapterResponse = await inner.dispatch(request);
 *       console.log(response.status);
 *       return response;
 *     },
 *     close: () => inner.close(),
 *     destroy: () => inner.destroy(),
 *   };
 * }
 * ```
 */
export interface AdapterResponse {
  /** Status code. */
  readonly status: number;
  /** Reason phrase ("" when the runtime does not give one). */
  readonly statusText: string;
  /** Response headers. */
  readonly headers: Headers;
  /** Final URL of the response. */
  readonly url: string;
  /** The HTTP version it came over, when the adapter knows ("1.1" if not). */
  readonly httpVersion?: HttpVersion;
  /** Read the body as text (UTF-8). */
  text(): Promise<string>;
  /** Read the body as JSON. */
  json(): Promise<unknown>;
  /** Read the body into an `ArrayBuffer`. */
  arrayBuffer(): Promise<ArrayBuffer>;
  /** Read the body into a `Uint8Array`. */
  bytes(): Promise<Uint8Array>;
  /** Read the body into a `Blob`. */
  blob(): Promise<Blob>;
  /**
   * The body as a stream, or `null` when there is none. When the body
   * fails, the stream errors with `mapError(error)` (the error itself
   * without it).
   */
  stream(
    mapError?: (error: unknown) => unknown,
  ): ReadableStream<Uint8Array> | null;
  /**
   * Discard the body and free the connection: drain a small rest at once
   * to keep the connection, or else close it. Never waits for a slow body.
   */
  dump(): Promise<void>;
  /**
   * The `Set-Cookie` header values, when the adapter has them cheaper than
   * `headers.getSetCookie()`.
   */
  getSetCookie?(): string[];
  /**
   * One header's value (`null` when absent), when the adapter has it
   * cheaper than `headers.get(name)`. `name` is lower case.
   */
  header?(name: string): string | null;
  /**
   * The response as a WHATWG `Response` (its body is this body). Call
   * `onRead` once, when its body starts being read or is cancelled. When
   * the body fails, its readers reject with `mapError(error)`.
   */
  toResponse(
    onRead?: () => void,
    mapError?: (error: unknown) => unknown,
  ): Response;
}

/**
 * What a session needs from a connection pool.
 *
 * An adapter owns its connections: it opens them lazily (constructing one
 * does no I/O), reuses them between requests, and closes them in
 * `close()`. The session enforces `limit` and `limitPerHost` itself and
 * passes them as {@linkcode PoolHints} so a pool can size itself.
 *
 * @example A pass-through adapter over the global fetch
 * ```ts
 * import { FetchAdapter, type PoolAdapter, Session } from "@x/sessions";
 *
 * const inner = new FetchAdapter();
 * const logging: PoolAdapter = {
 *   name: "logging",
 *   dispatch(request) {
 *     console.log(request.method, request.origin + request.path);
 *     return inner.dispatch(request);
 *   },
 *   close: () => inner.close(),
 *   destroy: () => inner.destroy(),
 * };
 * await using session = new Session({ adapter: logging });
 * ```
 */
export interface PoolAdapter {
  /** A short name, for messages and benchmarks. */
  readonly name: string;
  /**
   * Start queued requests one macrotask after a connection frees up
   * instead of synchronously: some pools (Deno's) open a spare connection
   * when a queued request starts in the same tick as the previous response
   * ends.
   */
  readonly deferHandoff?: boolean;
  /**
   * The most requests the pool can run at once and still keep their
   * connections for the next ones: the session's `limit` and
   * `limitPerHost` act as this when they are higher (a `limit` of 0 stays
   * unlimited). Unset or 0: no such bound.
   */
  readonly maxInFlight?: number;
  /**
   * `true` when the adapter calls `AdapterRequest.onConnect()` once the
   * request's connection is established: the session then times the
   * connect and headers phases apart. Otherwise it times them together.
   */
  readonly reportsConnect?: boolean;
  /**
   * `true` when the runtime's client sends a `User-Agent` of its own with
   * requests that have none (Deno's and Bun's fetch do): the session then
   * leaves its default `User-Agent` out. Otherwise (undici, custom
   * adapters) the session sends `x-sessions/<version>` unless told not to.
   */
  readonly sendsUserAgent?: boolean;
  /**
   * Send a request; resolves once the response headers arrived. A
   * rejection is a network failure, which the session wraps in a
   * `NetworkError` (and may retry), unless its `code` is
   * `"ERR_ACCESS_DENIED"`: the runtime refused the request itself (Deno
   * without `--allow-net`), and the session passes that error on as it is.
   */
  dispatch(request: AdapterRequest): Promise<AdapterResponse>;
  /** Close every connection once requests in flight are done. Idempotent. */
  close(): Promise<void>;
  /** Close every connection now, failing requests in flight. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * Limits a session passes to the adapters it creates.
 *
 * @example
 * ```ts
 * import { FetchAdapter, type PoolHints, Session } from "@x/sessions";
 * await using session = new Session({
 *   limit: 10,
 *   adapter: (hints: PoolHints) => {
 *     console.log(hints.limit); // 10
 *     return new FetchAdapter();
 *   },
 * });
 * ```
 */
export interface PoolHints {
  /** The session's `limit` (0 = none). */
  readonly limit: number;
  /** The session's `limitPerHost` (0 = none). */
  readonly limitPerHost: number;
  /**
   * The session's `tls` option, checked (`ca` is then always an array), if
   * any. The adapter applies it to every connection it opens.
   */
  readonly tls?: TlsOptions;
  /** Send every request over this unix domain socket, if set. */
  readonly socketPath?: string;
  /**
   * The session's `http2` option, when not `false`: the adapter offers h2
   * (`true`) or speaks it without asking (`"prior-knowledge"`), and sets
   * `httpVersion` on its responses.
   */
  readonly http2?: Http2Mode;
}

/**
 * A proxy a request goes through, as the session resolved it for the
 * request's URL (from `proxy`, or from the environment with `trustEnv`).
 *
 * @example
 * ```ts
 * import type { ProxyInfo } from "@x/sessions";
 * const proxy: ProxyInfo = {
 *   url: "http://proxy.test:3128",
 *   username: "me",
 *   password: "secret",
 *   authorization: "Basic bWU6c2VjcmV0",
 * };
 * console.log(proxy.url); // "http://proxy.test:3128"
 * ```
 */
export interface ProxyInfo {
  /** `http://host:port` or `https://host:port`, without credentials. */
  readonly url: string;
  /** User name for basic auth (decoded), if any. */
  readonly username?: string;
  /** Password for basic auth (decoded), if any. */
  readonly password?: string;
  /** The `Proxy-Authorization` header value, if credentials were given. */
  readonly authorization?: string;
}
