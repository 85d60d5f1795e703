/**
 * {@linkcode Session}: one connection pool and shared configuration for many
 * requests, closed cleanly.
 *
 * @module
 */
import type {
  AbortSource,
  AdapterBody,
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
  PoolHints,
} from "./adapters/adapter.ts";
import { defaultAdapter } from "./adapters/default.ts";
import {
  checkKeys,
  checkRaise,
  checkTimeout,
  parseSessionOptions,
  REQUEST_KEYS,
} from "./_options.ts";
import {
  addDeadline,
  cancelDeadline,
  type Deadline,
  type DeadlineTarget,
} from "./_deadlines.ts";
import {
  HttpError,
  NetworkError,
  QueueFullError,
  type RequestInfo,
  SessionClosedError,
  SessionError,
  TimeoutError,
} from "./errors.ts";
import {
  type HeaderRecord,
  type HeadersInput,
  mergeHeaders,
} from "./headers.ts";
import { Limiter, type Permit } from "./limiter.ts";
import {
  type BodyOwner,
  bufferResponse,
  type ReadIntent,
  ResponsePromise,
  SessionResponse,
} from "./response.ts";
import {
  appendParams,
  redact,
  resolveTarget,
  type SearchParams,
  type Target,
} from "./url.ts";

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
   */
  baseUrl?: string | URL;
  /** Headers sent with every request; request headers are merged over them. */
  headers?: HeadersInput;
  /**
   * Time for a whole request, from the call until the body is read
   * (queueing included), in milliseconds. `0` or `Infinity` means none.
   * @default 300_000
   */
  timeout?: number;
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
  /** Overrides the session's `timeout` for this request. */
  timeout?: number;
  /** Overrides the session's `raiseForStatus` for this request. */
  raiseForStatus?: boolean | StatusPredicate;
  /** Queue priority when over the limits: higher goes first. @default 0 */
  priority?: number;
}

// session.fetch() watches the Response it returns instead.
const FETCH: ReadIntent = { shortcut: true };

interface Tracker {
  stack: string;
  adapter: PoolAdapter | undefined;
  closed: boolean;
}

const unclosed = new FinalizationRegistry<Tracker>((tracker) => {
  if (tracker.closed) return;
  console.warn(
    `@x/sessions: Unclosed Session. Close sessions with \`await session.close()\` or \`await using\`. It was created ${tracker.stack}`,
  );
  tracker.adapter?.close().catch(() => {});
});

// Resolved request URLs kept per session (cleared when full).
const TARGET_CACHE = 256;

function withUrl(target: Target): Target {
  target.url = target.origin + target.path;
  return target;
}

// Methods that need neither the token check nor upper-casing.
const METHODS = new Map<unknown, string>();
for (
  const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
) {
  METHODS.set(method, method);
  METHODS.set(method.toLowerCase(), method);
}

function isRaised(raise: boolean | StatusPredicate, status: number): boolean {
  if (raise === true) return status < 200 || status >= 300;
  if (raise === false) return false;
  return raise(status) === true;
}

interface Prepared {
  method: string;
  target: Target;
  headers: HeaderRecord;
  body: AdapterBody;
  info: RequestInfo;
  signal: AbortSignal | undefined;
  timeout: number;
  priority: number;
  raise: boolean | StatusPredicate;
}

type State = "pending" | "unread" | "reading" | "done";

/** One request from call to body end: timer, abort, permit and close() bookkeeping. */
// The exchange is also the request the adapter gets (one object fewer per
// request than a separate AdapterRequest).
class Exchange
  implements BodyOwner, DeadlineTarget, AbortSource, AdapterRequest {
  // Made on first use of `signal`: a real AbortSignal costs microseconds on
  // Node, where the adapter takes this object itself (see AbortSource).
  #controller: AbortController | undefined;
  aborted = false;
  reason: unknown = undefined;
  #abortListeners: (() => void)[] | undefined;
  readonly prepared: Prepared;
  state: State = "pending";
  discarded: unknown = undefined;
  raw: AdapterResponse | undefined;
  #session: Session;
  #permit: Permit | undefined;
  #deadline: Deadline | undefined;
  #onUserAbort: (() => void) | undefined;
  #kind: "timeout" | "user" | "destroyed" | undefined;
  #waiters: (() => void)[] | undefined;

  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: AdapterBody;

  constructor(session: Session, prepared: Prepared) {
    this.#session = session;
    this.prepared = prepared;
    this.method = prepared.method;
    this.origin = prepared.target.origin;
    this.path = prepared.target.path;
    this.url = prepared.target.url!;
    this.headers = prepared.headers as Record<string, string>;
    this.body = prepared.body;
    const { signal, timeout } = prepared;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#kind = "user";
        this.aborted = true;
        this.reason = signal.reason;
      } else {
        this.#onUserAbort = () => this.abort("user", signal.reason);
        signal.addEventListener("abort", this.#onUserAbort, { once: true });
      }
    }
    if (timeout > 0) {
      this.#deadline = addDeadline(timeout, this);
    }
  }

  onDeadline(): void {
    this.#deadline = undefined;
    this.abort(
      "timeout",
      new TimeoutError(this.prepared.timeout, { request: this.prepared.info }),
    );
  }

  set permit(permit: Permit) {
    this.#permit = permit;
  }

  get abortSource(): AbortSource {
    return this;
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.aborted) controller.abort(this.reason);
    }
    return controller.signal;
  }

  addEventListener(type: "abort", listener: () => void): void {
    if (type === "abort") (this.#abortListeners ??= []).push(listener);
  }

  removeEventListener(type: "abort", listener: () => void): void {
    const listeners = this.#abortListeners;
    if (type !== "abort" || listeners === undefined) return;
    const index = listeners.indexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
  }

  readonly onDone = (): void => this.finish();

  abort(reason: "timeout" | "user" | "destroyed", error: unknown): void {
    if (this.#kind !== undefined || this.state === "done") return;
    this.#kind = reason;
    this.aborted = true;
    this.reason = error;
    this.#controller?.abort(error);
    if (this.state === "unread" && this.raw !== undefined) {
      // Nobody started reading: the request is over, so free its
      // connection now (fetch-based runtimes would otherwise hold it).
      this.discarded = this.mapError(error);
      this.touch();
      this.raw.dump().catch(() => {}).then(() => this.finish());
    }
    const listeners = this.#abortListeners;
    if (listeners !== undefined) {
      this.#abortListeners = undefined;
      for (const listener of listeners) listener();
    }
  }

  touch(): void {
    if (this.state === "unread") this.#set("reading");
  }

  responded(raw: AdapterResponse): void {
    this.raw = raw;
    if (this.state === "pending") this.#set("unread");
  }

  finish(): void {
    if (this.state === "done") return;
    if (this.#deadline !== undefined) cancelDeadline(this.#deadline);
    if (this.#onUserAbort !== undefined) {
      this.prepared.signal!.removeEventListener("abort", this.#onUserAbort);
    }
    this.#permit?.release();
    this.#session._forget(this);
    this.#set("done");
  }

  /** A promise for the next state change (created only when close() waits). */
  changed(): Promise<void> {
    return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
  }

  #set(state: State): void {
    this.state = state;
    const waiters = this.#waiters;
    if (waiters !== undefined) {
      this.#waiters = undefined;
      for (const resolve of waiters) resolve();
    }
  }

  mapError(error: unknown): unknown {
    const request = this.prepared.info;
    switch (this.#kind) {
      case "timeout":
        return new TimeoutError(this.prepared.timeout, {
          request,
          cause: error,
        });
      case "user":
        return this.prepared.signal!.reason;
      case "destroyed":
        return new SessionClosedError(
          "Session was destroyed while the request ran",
          {
            request,
            cause: error,
          },
        );
    }
    if (error instanceof QueueFullError && error.request === undefined) {
      return new QueueFullError(error.maxQueue, { request });
    }
    if (error instanceof SessionError) return error;
    return new NetworkError(`Request failed (${describeCause(error)})`, {
      request,
      cause: error,
    });
  }
}

function describeCause(error: unknown): string {
  let current: unknown = error;
  let message = "";
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    message = typeof code === "string"
      ? `${code}: ${current.message}`
      : current.message;
    if (typeof code === "string") break;
    current = current.cause;
  }
  return redact(message || String(error)).replace(/\/\/[^/\s@]*@/g, "//");
}

/**
 * One pooled, configured HTTP session: a connection pool with shared base
 * URL, headers, timeout and limits, the same on Deno, Node and Bun.
 *
 * Make one per application (or per API) and reuse it: every request then
 * reuses warm connections. Constructing does no I/O; the pool is made at
 * the first request. Close it with `close()` or `await using`.
 *
 * @example Typical use
 * ```ts
 * import { MockAdapter, Session } from "@x/sessions";
 *
 * // A mock adapter stands in for the network in this example.
 * const adapter = new MockAdapter()
 *   .route("GET", "/v1/users/42", { json: { id: 42, name: "Ada" } })
 *   .route("POST", "/v1/users", { status: 201, json: { id: 43 } });
 *
 * await using session = new Session({
 *   baseUrl: "https://api.example.com/v1",
 *   headers: { authorization: "Bearer t0ken" },
 *   timeout: 10_000,
 *   adapter,
 * });
 * const user = await session.get("users/42").json();
 * const created = await session.post("users", { json: { name: "Ada" } });
 * console.log(user, created.status); // { id: 42, name: "Ada" } 201
 * ```
 */
export class Session implements AsyncDisposable {
  #base: Target | undefined;
  #headers: HeaderRecord;
  #timeout: number;
  #raise: boolean | StatusPredicate;
  #limit: number;
  #limitPerHost: number;
  #maxQueue: number;
  #adapterOption: SessionOptions["adapter"];
  #adapter: PoolAdapter | undefined;
  #limiter: Limiter | undefined;
  #live = new Set<Exchange>();
  #targets = new Map<string, Target>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #tracker: Tracker;

  /**
   * Create a session. Does no I/O.
   *
   * @param options Base URL, headers, timeout, limits and adapter.
   * @throws {TypeError} for an option of the wrong type, an unknown option,
   *   a `baseUrl` that is not an absolute http(s) URL, or an invalid header.
   * @throws {RangeError} for a negative or fractional limit, or a NaN or
   *   negative timeout.
   */
  constructor(options: SessionOptions = {}) {
    const config = parseSessionOptions(options, "create session");
    this.#base = config.base;
    this.#headers = config.headers;
    this.#timeout = config.timeout;
    this.#limit = config.limit;
    this.#limitPerHost = config.limitPerHost;
    this.#maxQueue = config.maxQueue;
    this.#raise = config.raise;
    this.#adapterOption = config.adapter;
    this.#tracker = {
      stack: (new Error().stack ?? "").split("\n").slice(2).join("\n").trim(),
      adapter: undefined,
      closed: false,
    };
    unclosed.register(this, this.#tracker, this.#tracker);
  }

  /**
   * `true` once `close()` or `destroy()` was called: new requests reject
   * with `SessionClosedError`.
   *
   * @example
   * ```ts
   * import { Session } from "@x/sessions";
   * const session = new Session();
   * await session.close();
   * console.log(session.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Requests not finished yet: queued, waiting for headers, or holding a
   * connection with a body not read to the end.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const response = await session.get("");
   * console.log(session.pending); // 1: the body is not read yet
   * await response.text();
   * console.log(session.pending); // 0
   * ```
   */
  get pending(): number {
    return this.#live.size;
  }

  /**
   * The pool adapter's name ("undici", "deno", "bun", "fetch", ...), or
   * `undefined` before the first request.
   *
   * @example
   * ```ts
   * import { Session } from "@x/sessions";
   * await using session = new Session();
   * console.log(session.adapterName); // undefined until the first request
   * ```
   */
  get adapterName(): string | undefined {
    return this.#adapter?.name;
  }

  /**
   * Send a request. Resolves when the response headers arrive; the body is
   * read when asked (see {@linkcode SessionResponse}).
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("PURGE", "/cache", { status: 204 });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.request("PURGE", "cache")).status); // 204
   * ```
   *
   * @param method HTTP method (case-insensitive).
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options.
   * @returns The response promise, with body shortcuts.
   * @throws {HttpError} for a status `raiseForStatus` treats as an error.
   * @throws {TimeoutError} when the request exceeds its timeout.
   * @throws {NetworkError} when the connection fails.
   * @throws {SessionClosedError} when the session is closed.
   * @throws {QueueFullError} when the queue is at `maxQueue`.
   * @throws {TypeError} for invalid options (rejected before anything is sent).
   */
  request(
    method: string,
    url: string | URL,
    options?: RequestOptions,
  ): ResponsePromise {
    const intent: ReadIntent = { shortcut: false };
    return ResponsePromise._from(
      this.#send(method, url, options, intent),
      intent,
    );
  }

  /**
   * Send a GET request.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/search", (r) => ({ body: r.url }));
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log(await session.get("search", { params: { q: "x", tag: ["a", "b"] } }).text());
   * // "http://api.test/search?q=x&tag=a&tag=b"
   * ```
   *
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options.
   * @returns The response promise.
   */
  get(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.request("GET", url, options);
  }

  /**
   * Send a POST request.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("POST", "/users", (r) => ({ status: 201, body: r.body }));
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log(await session.post("users", { json: { name: "Ada" } }).text()); // '{"name":"Ada"}'
   * ```
   *
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options (`json` or `body`).
   * @returns The response promise.
   */
  post(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.request("POST", url, options);
  }

  /**
   * Send a PUT request.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("PUT", "/users/1", { status: 204 });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.put("users/1", { json: { name: "Ada" } })).status); // 204
   * ```
   *
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options.
   * @returns The response promise.
   */
  put(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.request("PUT", url, options);
  }

  /**
   * Send a PATCH request.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("PATCH", "/users/1", { json: { ok: true } });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log(await session.patch("users/1", { json: { name: "Ada" } }).json()); // { ok: true }
   * ```
   *
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options.
   * @returns The response promise.
   */
  patch(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.request("PATCH", url, options);
  }

  /**
   * Send a DELETE request.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("DELETE", "/users/1", { status: 204 });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.delete("users/1")).status); // 204
   * ```
   *
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options.
   * @returns The response promise.
   */
  delete(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.request("DELETE", url, options);
  }

  /**
   * Send a HEAD request.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("HEAD", "/file", { headers: { "content-length": "10" } });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.head("file")).status); // 200
   * ```
   *
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options.
   * @returns The response promise.
   */
  head(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.request("HEAD", url, options);
  }

  /**
   * Send an OPTIONS request.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("OPTIONS", "/users", { status: 204, headers: { allow: "GET" } });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.options("users")).headers.get("allow")); // "GET"
   * ```
   *
   * @param url A path relative to `baseUrl`, or an absolute URL.
   * @param options Per-request options.
   * @returns The response promise.
   */
  options(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.request("OPTIONS", url, options);
  }

  /**
   * `fetch()` through the session: same arguments and semantics as the
   * global `fetch` (a real WHATWG `Response`, never throws for a status),
   * with the session's base URL, headers, timeout, limits and pool.
   * Redirects are returned, not followed.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/missing", { status: 404 });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const response: Response = await session.fetch("missing");
   * console.log(response.status, response instanceof Response); // 404 true
   * ```
   *
   * @param input A URL (relative to `baseUrl` or absolute) or a `Request`.
   * @param init Request init; `headers` merge over the session's.
   * @returns A WHATWG `Response`.
   * @throws {TimeoutError | NetworkError | SessionClosedError} as `request()`.
   */
  async fetch(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    let method = init?.method;
    let url: string | URL;
    let headers: HeadersInput | undefined = init?.headers as
      | HeadersInput
      | undefined;
    let body = init?.body;
    let signal = init?.signal ?? undefined;
    if (input instanceof Request) {
      url = input.url;
      method ??= input.method;
      if (headers === undefined) headers = input.headers;
      else headers = mergeHeaders(mergeHeaders({}, input.headers), headers);
      if (body === undefined && input.body !== null) body = input.body;
      signal ??= input.signal;
    } else {
      url = input;
    }
    const options: RequestOptions = { raiseForStatus: false };
    if (headers !== undefined) options.headers = headers;
    if (body !== undefined && body !== null) options.body = body;
    if (signal) options.signal = signal;
    const response = await this.#send(method ?? "GET", url, options, FETCH);
    try {
      return response._toResponse();
    } catch (error) {
      // A status WHATWG Response cannot represent (outside 200-599).
      await response._raw.dump();
      throw new NetworkError(
        `Cannot represent the response as a Response (${describeCause(error)})`,
        { request: response.request, cause: error },
      );
    }
  }

  /**
   * Close the session gracefully: new requests reject at once with
   * `SessionClosedError`, requests in flight finish (bodies being read are
   * read to the end; bodies nobody started reading are discarded, so it
   * never hangs), then every connection is closed. Idempotent.
   *
   * @example
   * ```ts
   * import { Session } from "@x/sessions";
   * const session = new Session();
   * await session.close();
   * await session.close(); // no-op
   * ```
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#tracker.closed = true;
    unclosed.unregister(this.#tracker);
    this.#closing = this.#drain().then(() => this.#adapter?.close());
    return this.#closing;
  }

  /**
   * Close the session now: requests in flight and queued reject with
   * `SessionClosedError`, and the pool drops its connections. Idempotent.
   *
   * @example
   * ```ts
   * import { Session } from "@x/sessions";
   * const session = new Session();
   * await session.destroy();
   * console.log(session.closed); // true
   * ```
   */
  destroy(): Promise<void> {
    this.#closed = true;
    this.#tracker.closed = true;
    unclosed.unregister(this.#tracker);
    const error = new SessionClosedError("Session was destroyed");
    this.#limiter?.rejectAll(error);
    for (const exchange of [...this.#live]) {
      exchange.abort("destroyed", error);
    }
    const destroyed = (this.#adapter?.destroy() ?? Promise.resolve()).then(
      () => {
        for (const exchange of [...this.#live]) {
          exchange.raw?.dump().catch(() => {});
          exchange.finish();
        }
      },
    );
    this.#closing ??= destroyed;
    return destroyed;
  }

  /**
   * Calls `close()`: `await using session = new Session()` closes the
   * session at the end of the block, also when the block throws.
   *
   * @example
   * ```ts
   * import { Session } from "@x/sessions";
   * {
   *   await using session = new Session();
   *   console.log(session.closed); // false
   * } // closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal An exchange is over. */
  _forget(exchange: Exchange): void {
    this.#live.delete(exchange);
  }

  async #drain(): Promise<void> {
    for (let round = 0; this.#live.size > 0 && round < 1_000_000; round++) {
      const waits: Promise<void>[] = [];
      let unread = false;
      for (const exchange of this.#live) {
        if (exchange.state === "unread") unread = true;
        else waits.push(exchange.changed());
      }
      if (unread) {
        // Give code that just received a response one turn of the event
        // loop to start reading it, then discard what is still unread.
        await new Promise((resolve) => setTimeout(resolve, 0));
        for (const exchange of this.#live) {
          if (exchange.state !== "unread") continue;
          exchange.discarded = new SessionClosedError(
            "Cannot read the body as the session was closed before anyone started reading it",
            { request: exchange.prepared.info },
          );
          exchange.touch();
          const dumped = exchange.raw!.dump().catch(() => {});
          waits.push(dumped.then(() => exchange.finish()));
        }
      }
      if (waits.length > 0) await Promise.race(waits);
    }
  }

  #getAdapter(): PoolAdapter {
    let adapter = this.#adapter;
    if (adapter === undefined) {
      const hints: PoolHints = {
        limit: this.#limit,
        limitPerHost: this.#limitPerHost,
      };
      const option = this.#adapterOption;
      adapter = option === undefined
        ? defaultAdapter(hints)
        : typeof option === "function"
        ? option(hints)
        : option;
      this.#adapter = adapter;
      this.#tracker.adapter = adapter;
    }
    return adapter;
  }

  #getLimiter(): Limiter {
    return this.#limiter ??= new Limiter({
      limit: this.#limit,
      limitPerHost: this.#limitPerHost,
      maxQueue: this.#maxQueue,
      deferHandoff: this.#getAdapter().deferHandoff === true,
    });
  }

  // The same relative paths come back again and again: resolve each once
  // (bounded), so every request to it also shares one URL string.
  #resolve(url: string | URL): Target {
    if (typeof url !== "string") return withUrl(resolveTarget(url, this.#base));
    const targets = this.#targets;
    let target = targets.get(url);
    if (target === undefined) {
      target = withUrl(resolveTarget(url, this.#base));
      if (targets.size >= TARGET_CACHE) targets.clear();
      targets.set(url, target);
    }
    return target;
  }

  #prepare(
    methodInput: string,
    url: string | URL,
    options: RequestOptions | undefined,
  ): Prepared {
    const where = "send request";
    let method = METHODS.get(methodInput);
    if (method === undefined) {
      if (
        typeof methodInput !== "string" ||
        !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(methodInput)
      ) {
        throw new TypeError(
          `Cannot ${where} as the method ${
            JSON.stringify(methodInput)
          } is not a valid HTTP token`,
        );
      }
      method = methodInput.toUpperCase();
    }
    let target = this.#resolve(url);
    let headers = this.#headers;
    let body: AdapterBody = null;
    let signal: AbortSignal | undefined;
    let timeout = this.#timeout;
    let priority = 0;
    let raise = this.#raise;
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) {
        throw new TypeError(
          `Cannot ${where} as options must be an object: received ${typeof options}`,
        );
      }
      checkKeys(options, REQUEST_KEYS, where);
      if (options.params !== undefined) {
        const path = appendParams(target.path, options.params);
        if (path !== target.path) {
          target = { ...target, path, url: target.origin + path };
        }
      }
      if (options.headers !== undefined) {
        headers = mergeHeaders(headers, options.headers, where);
      }
      if (options.timeout !== undefined) {
        timeout = checkTimeout(options.timeout, where);
      }
      if (options.raiseForStatus !== undefined) {
        raise = checkRaise(options.raiseForStatus, where);
      }
      if (options.priority !== undefined) {
        if (
          typeof options.priority !== "number" || Number.isNaN(options.priority)
        ) {
          throw new TypeError(
            `Cannot ${where} as 'priority' must be a number: received ${options.priority}`,
          );
        }
        priority = options.priority;
      }
      if (options.signal !== undefined) {
        if (!(options.signal instanceof AbortSignal)) {
          throw new TypeError(
            `Cannot ${where} as 'signal' must be an AbortSignal`,
          );
        }
        signal = options.signal;
      }
      if (
        options.json !== undefined ||
        (options.body !== undefined && options.body !== null)
      ) {
        if (
          options.json !== undefined && options.body !== undefined &&
          options.body !== null
        ) {
          throw new TypeError(
            `Cannot ${where} as 'json' and 'body' are both set: pass one`,
          );
        }
        if (method === "GET" || method === "HEAD") {
          throw new TypeError(
            `Cannot ${where} as a ${method} request cannot have a body`,
          );
        }
        const prepared = prepareBody(options, headers);
        body = prepared.body;
        headers = prepared.headers;
      }
    }
    if (
      target.authorization !== undefined && headers.authorization === undefined
    ) {
      headers = { ...headers, authorization: target.authorization };
    }
    const info: RequestInfo = { method, url: target.url! };
    return {
      method,
      target,
      headers,
      body,
      info,
      signal,
      timeout,
      priority,
      raise,
    };
  }

  // Not async: on the fast path (a free permit) this costs two promise
  // reactions fewer per request than an async function would.
  #send(
    method: string,
    url: string | URL,
    options: RequestOptions | undefined,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    let prepared: Prepared;
    try {
      prepared = this.#prepare(method, url, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed) {
      return Promise.reject(
        new SessionClosedError(
          "Cannot send request as the session is closed",
          { request: prepared.info },
        ),
      );
    }
    const exchange = new Exchange(this, prepared);
    this.#live.add(exchange);
    let dispatched: Promise<AdapterResponse>;
    try {
      if (exchange.aborted) throw exchange.reason;
      const limiter = this.#getLimiter();
      const origin = prepared.target.origin;
      const permit = limiter.tryAcquire(origin);
      if (permit !== undefined) {
        exchange.permit = permit;
        dispatched = this.#dispatch(exchange);
      } else {
        dispatched = limiter.acquire(origin, {
          priority: prepared.priority,
          signal: exchange.signal,
        }).then((permit) => {
          exchange.permit = permit;
          return this.#dispatch(exchange);
        });
      }
    } catch (error) {
      dispatched = Promise.reject(error);
    }
    return dispatched.then(
      (raw) => this.#respond(exchange, raw, intent),
      (error) => {
        exchange.finish();
        throw exchange.mapError(error);
      },
    );
  }

  #dispatch(exchange: Exchange): Promise<AdapterResponse> {
    return this.#getAdapter().dispatch(exchange);
  }

  #respond(
    exchange: Exchange,
    raw: AdapterResponse,
    intent: ReadIntent,
  ): SessionResponse | Promise<never> {
    const { prepared } = exchange;
    exchange.responded(raw);
    const response = new SessionResponse(
      raw,
      prepared.info,
      exchange,
      !intent.shortcut,
    );
    let raised: boolean;
    try {
      raised = prepared.raise !== false && isRaised(prepared.raise, raw.status);
    } catch (error) {
      // A throwing raiseForStatus predicate: free the connection, pass the
      // error on.
      return response.dump().then(() => Promise.reject(error));
    }
    if (raised) {
      return bufferResponse(response).then(
        (buffered) => {
          throw new HttpError(buffered, prepared.info);
        },
        (error) => {
          throw exchange.mapError(error);
        },
      );
    }
    return response;
  }
}

function prepareBody(
  options: RequestOptions,
  headers: HeaderRecord,
): { body: AdapterBody; headers: HeaderRecord } {
  let contentType: string | undefined;
  let body: AdapterBody;
  const input = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    contentType = "application/json";
  } else if (typeof input === "string") {
    body = input;
    contentType = "text/plain;charset=UTF-8";
  } else if (input instanceof Uint8Array) {
    body = input;
  } else if (input instanceof ArrayBuffer) {
    body = new Uint8Array(input);
  } else if (ArrayBuffer.isView(input)) {
    body = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  } else if (input instanceof URLSearchParams) {
    body = input.toString();
    contentType = "application/x-www-form-urlencoded;charset=UTF-8";
  } else if (input instanceof ReadableStream) {
    body = input as ReadableStream<Uint8Array>;
  } else if (input instanceof Blob || input instanceof FormData) {
    const response = new Response(input);
    body = response.body;
    contentType = response.headers.get("content-type") ?? undefined;
    if (input instanceof Blob && !("content-length" in headers)) {
      headers = { ...headers, "content-length": String(input.size) };
    }
  } else {
    throw new TypeError(
      `Cannot send request as 'body' must be a string, bytes, Blob, FormData, URLSearchParams or ReadableStream: received ${
        Object.prototype.toString.call(input)
      }`,
    );
  }
  if (contentType !== undefined && !("content-type" in headers)) {
    headers = { ...headers, "content-type": contentType };
  }
  return { body, headers };
}
