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
  ProxyInfo,
} from "./adapters/adapter.ts";
import { defaultAdapter } from "./adapters/default.ts";
import {
  checkKeys,
  checkRaise,
  CREDENTIAL_HEADERS,
  type ParsedOptions,
  parseRetry,
  parseTimeouts,
  parseTransfer,
  REQUEST_KEYS,
  sessionConfig,
  type Timeouts,
  type Transfer,
} from "./_options.ts";
import type { CookieJar } from "./cookies.ts";
import type { ProgressCallback, RedirectMode, TlsOptions } from "./network.ts";
import { ProxyResolver } from "./proxy.ts";
import { meter, meterUpload } from "./_meter.ts";
import { MAX_TIMER } from "./_timers.ts";
import {
  type Emit,
  emitter,
  type ExchangeTimings,
  type SessionEvent,
} from "./events.ts";
import { type Middleware, runChain, SessionRequest } from "./middleware.ts";
import { IDEMPOTENT } from "./_http.ts";
import { USER_AGENT } from "./_version.ts";
import {
  parseRetryAfter,
  type RetryOptions,
  type RetryPolicy,
} from "./retry.ts";
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
  RedirectError,
  type RedirectFailure,
  type RequestInfo,
  SessionClosedError,
  SessionError,
  TimeoutError,
  type TimeoutPhase,
} from "./errors.ts";
import {
  checkHeader,
  type HeaderRecord,
  type HeadersInput,
  mergeHeaders,
} from "./headers.ts";
import { Limiter, type Permit } from "./limiter.ts";
import { SlotSet } from "./_slots.ts";
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

// Marks sessions for `instanceof` across copies of the package.
const SESSION_BRAND = Symbol.for("@x/sessions/Session");

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

function checkMethod(input: unknown, where: string): string {
  const known = METHODS.get(input);
  if (known !== undefined) return known;
  if (
    typeof input !== "string" ||
    !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(input)
  ) {
    throw new TypeError(
      `Cannot ${where} as the method ${
        JSON.stringify(input)
      } is not a valid HTTP token`,
    );
  }
  return input.toUpperCase();
}

function isRaised(raise: boolean | StatusPredicate, status: number): boolean {
  if (raise === true) return status < 200 || status >= 300;
  if (raise === false) return false;
  return raise(status) === true;
}

/** What one attempt sends. */
interface Parts {
  method: string;
  target: Target;
  headers: HeaderRecord;
  body: AdapterBody;
  /** Makes the body again for a retry; `undefined` for a one-shot stream. */
  replay: (() => AdapterBody) | undefined;
  info: RequestInfo;
  /** URLs redirected to before this hop (none: undefined). */
  redirects?: readonly string[];
}

/** A request as the user made it: what the first attempt sends, and more. */
interface Prepared extends Parts {
  /**
   * Whether `headers` carry the session's own credentials (baseUrl's
   * origin): a middleware sending the request elsewhere must drop them.
   */
  inherits: boolean;
  signal: AbortSignal | undefined;
  timeouts: Timeouts;
  priority: number;
  raise: boolean | StatusPredicate;
  retry: RetryPolicy;
  transfer: Transfer;
}

type State = "pending" | "unread" | "reading" | "done";
type AbortKind = "timeout" | "user" | "destroyed" | "closed";

const now = () => performance.now();
const NO_BODY = () => null;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Dropped when a redirect turns the request into a GET without a body.
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];

function withoutHeaders(
  headers: HeaderRecord,
  names: readonly string[],
): HeaderRecord {
  let copy: HeaderRecord | undefined;
  for (const name of names) {
    if (headers[name] !== undefined) {
      copy ??= { ...headers };
      delete copy[name];
    }
  }
  return copy ?? headers;
}

/** `headers` with the URL's credentials unless they set Authorization. */
function withAuthorization(
  headers: HeaderRecord,
  authorization: string,
): HeaderRecord {
  return headers.authorization === undefined
    ? { ...headers, authorization }
    : headers;
}

/** `parts` sending its body through an upload progress meter. */
function withUploadMeter(parts: Parts, onProgress: ProgressCallback): Parts {
  const upload = meterUpload(
    parts.body!,
    parts.headers["content-length"],
    onProgress,
  );
  return {
    ...parts,
    body: upload.body,
    headers: { ...parts.headers, ...upload.headers },
  };
}

/**
 * A status HTTP does not have (undici and Bun pass 600-999 on; Bun even 0):
 * the server is broken, the exchange fails with a NetworkError that says
 * so, and its connection is freed (closed if the body is slow).
 */
function badStatus(exchange: Exchange, raw: AdapterResponse): never {
  const error = new NetworkError(
    `Request failed as the server answered with status ${raw.status}, which is outside 100-599`,
    { request: exchange.parts.info },
  );
  exchange.mapError(error);
  raw.dump().catch(() => {});
  throw error;
}

function storeCookies(jar: CookieJar, raw: AdapterResponse, url: string): void {
  const values = raw.getSetCookie !== undefined
    ? raw.getSetCookie()
    : raw.headers.getSetCookie();
  for (const value of values) jar.setCookie(value, url);
}

/**
 * One request as the user made it, from the call until the body the user
 * got is finished: the total timeout, the user's signal and the retries.
 * Each attempt is an {@linkcode Exchange}.
 */
class Call implements AbortSource, DeadlineTarget {
  readonly prepared: Prepared;
  readonly emit: Emit | undefined;
  aborted = false;
  reason: unknown = undefined;
  current: Exchange | undefined;
  staleRetried = false;
  /** Index in the session's busy set (see SlotSet). */
  slot = -1;
  /** While in the busy set: the call's promise. */
  running: Promise<unknown> | undefined = undefined;
  /** Phase timeouts or observers: each attempt must call `Exchange.sent()`. */
  readonly watchesSend: boolean;
  // Made on first use of `signal`: a real AbortSignal costs microseconds on
  // Node, where the adapter takes this object itself (see AbortSource).
  #controller: AbortController | undefined;
  #abortListeners: (() => void)[] | undefined;
  #kind: AbortKind | undefined;
  #onUserAbort: (() => void) | undefined;
  #deadline: Deadline | undefined;
  #live = 0;
  #settled = false;
  #ended = false;

  constructor(prepared: Prepared, emit: Emit | undefined) {
    this.prepared = prepared;
    this.emit = emit;
    const { signal, timeouts } = prepared;
    this.watchesSend = emit !== undefined || timeouts.connect > 0 ||
      timeouts.headers > 0;
    if (signal !== undefined) this.#follow(signal);
    const total = timeouts.total;
    if (total > 0) this.#deadline = addDeadline(total, this);
  }

  /** Abort with the user's signal. */
  #follow(signal: AbortSignal): void {
    if (signal.aborted) {
      this.#kind = "user";
      this.aborted = true;
      this.reason = signal.reason;
    } else {
      this.#onUserAbort = () => this.abort("user", signal.reason);
      signal.addEventListener("abort", this.#onUserAbort, { once: true });
    }
  }

  /** Milliseconds left of the total timeout (Infinity without one). */
  remaining(): number {
    const deadline = this.#deadline;
    return deadline === undefined ? Infinity : deadline.at - now();
  }

  onDeadline(): void {
    this.#deadline = undefined;
    const { timeouts, info } = this.prepared;
    this.abort("timeout", new TimeoutError(timeouts.total, { request: info }));
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

  abort(kind: AbortKind, error: unknown): void {
    if (this.#kind !== undefined || this.#ended) return;
    this.#kind = kind;
    this.aborted = true;
    this.reason = error;
    this.#controller?.abort(error);
    this.current?.onAbort(error);
    const listeners = this.#abortListeners;
    if (listeners !== undefined) {
      this.#abortListeners = undefined;
      for (const listener of listeners) listener();
    }
  }

  attach(exchange: Exchange): void {
    this.#live++;
    this.current = exchange;
  }

  detach(): void {
    if (--this.#live === 0 && this.#settled) this.#end();
  }

  /** The user got the response (or the error): end once its body is done. */
  settle(): void {
    this.#settled = true;
    if (this.#live === 0) this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#deadline !== undefined) cancelDeadline(this.#deadline);
    if (this.#onUserAbort !== undefined) {
      this.prepared.signal!.removeEventListener("abort", this.#onUserAbort);
    }
  }

  /** Wait `ms` before a retry; rejects at once if the call is aborted. */
  sleep(ms: number): Promise<void> {
    if (this.aborted) return Promise.reject(this.mapError(this.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.mapError(this.reason));
      };
      const timer = setTimeout(() => {
        this.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      this.addEventListener("abort", onAbort);
    });
  }

  mapError(error: unknown, request: RequestInfo = this.prepared.info): unknown {
    switch (this.#kind) {
      case "timeout":
      case "closed":
        return this.reason;
      case "user":
        return this.prepared.signal!.reason;
      case "destroyed":
        return new SessionClosedError(
          "Session was destroyed while the request ran",
          { request, cause: error },
        );
    }
    if (error instanceof QueueFullError && error.request === undefined) {
      return new QueueFullError(error.maxQueue, { request });
    }
    if (error instanceof SessionError) return error;
    const code = errorCode(error);
    // The runtime refused the request itself: not a network failure.
    if (code === "ERR_ACCESS_DENIED") return error;
    const { timeouts } = this.prepared;
    if (code === "UND_ERR_CONNECT_TIMEOUT" && timeouts.connect > 0) {
      return new TimeoutError(timeouts.connect, {
        request,
        cause: error,
        phase: "connect",
      });
    }
    if (code === "UND_ERR_HEADERS_TIMEOUT" && timeouts.headers > 0) {
      return new TimeoutError(timeouts.headers, {
        request,
        cause: error,
        phase: "headers",
      });
    }
    if (code === "UND_ERR_BODY_TIMEOUT" && timeouts.bodyIdle > 0) {
      return new TimeoutError(timeouts.bodyIdle, {
        request,
        cause: error,
        phase: "bodyIdle",
      });
    }
    return new NetworkError(`Request failed (${describeCause(error)})`, {
      request,
      cause: error,
    });
  }
}

/**
 * One attempt: permit, phase timers and close() bookkeeping, from sending
 * until its body is finished. It is also the request the adapter gets (one
 * object fewer per request than a separate AdapterRequest).
 */
class Exchange implements BodyOwner, DeadlineTarget, AdapterRequest {
  readonly call: Call;
  readonly parts: Parts;
  readonly attempt: number;
  state: State = "pending";
  discarded: unknown = undefined;
  raw: AdapterResponse | undefined;
  reused: boolean | undefined = undefined;
  /** Index in the session's live set (see SlotSet). */
  slot = -1;
  #session: Session;
  #permit: Permit | undefined;
  #deadline: Deadline | undefined;
  #phase: { phase: TimeoutPhase; limit: number; detail?: string } | undefined;
  #waiters: (() => void)[] | undefined;
  #failed: unknown = undefined;
  // Times (performance.now()) kept only when someone observes events.
  #created = 0;
  #sent = 0;
  #headersAt = 0;

  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: AdapterBody;
  readonly connectTimeout: number;
  readonly bodyIdleTimeout: number;
  readonly proxy: ProxyInfo | undefined;

  constructor(
    session: Session,
    call: Call,
    parts: Parts,
    attempt: number,
    proxy: ProxyInfo | undefined,
  ) {
    this.#session = session;
    this.call = call;
    this.parts = parts;
    this.attempt = attempt;
    this.method = parts.method;
    this.origin = parts.target.origin;
    this.path = parts.target.path;
    this.url = parts.target.url!;
    this.headers = parts.headers as Record<string, string>;
    this.body = parts.body;
    const { timeouts } = call.prepared;
    this.connectTimeout = timeouts.connect;
    this.bodyIdleTimeout = timeouts.bodyIdle;
    this.proxy = proxy;
    if (call.emit !== undefined) this.#created = now();
    call.attach(this);
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }

  get abortSource(): AbortSource {
    return this.call;
  }

  set permit(permit: Permit) {
    this.#permit = permit;
  }

  readonly onDone = (error?: unknown): void => this.finish(error);

  /** Sent to the adapter: start the phase timers, tell observers. */
  sent(reportsConnect: boolean): void {
    const { connect, headers } = this.call.prepared.timeouts;
    if (reportsConnect) {
      if (connect > 0) this.#startPhase("connect", connect);
      else if (headers > 0) this.#startPhase("headers", headers);
    } else if (headers > 0) {
      if (connect > 0) {
        // The runtime does not say when the connection is made: bound the
        // two phases together (never fires before one of them is exceeded).
        this.#startPhase(
          "headers",
          connect + headers,
          `connect ${connect} ms + headers ${headers} ms: this runtime does not report when a connection is made`,
        );
      } else {
        this.#startPhase("headers", headers);
      }
    }
    const emit = this.call.emit;
    if (emit !== undefined) {
      this.#sent = now();
      emit({ type: "request", ...this.#event() });
    }
  }

  /** The adapter established the connection: the headers phase starts. */
  onConnect(): void {
    if (this.state !== "pending" || this.#phase?.phase !== "connect") return;
    this.#stopPhase();
    const { headers } = this.call.prepared.timeouts;
    if (headers > 0) this.#startPhase("headers", headers);
  }

  #startPhase(phase: TimeoutPhase, limit: number, detail?: string): void {
    this.#phase = { phase, limit, detail };
    this.#deadline = addDeadline(limit, this);
  }

  #stopPhase(): void {
    if (this.#deadline !== undefined) cancelDeadline(this.#deadline);
    this.#deadline = undefined;
    this.#phase = undefined;
  }

  /** The fields every event of this attempt has. */
  #event(): { method: string; url: string; attempt: number } {
    const { info } = this.parts;
    return { method: info.method, url: info.url, attempt: this.attempt };
  }

  onDeadline(): void {
    this.#deadline = undefined;
    const phase = this.#phase!;
    this.call.abort(
      "timeout",
      new TimeoutError(phase.limit, {
        request: this.parts.info,
        phase: phase.phase,
        detail: phase.detail,
      }),
    );
  }

  /** The call was aborted. */
  onAbort(error: unknown): void {
    if (this.state === "unread" && this.raw !== undefined) {
      // Nobody started reading: the request is over, so free its
      // connection now (fetch-based runtimes would otherwise hold it).
      this.discarded = this.mapError(error);
      this.touch();
      this.raw.dump().catch(() => {}).then(() => this.finish());
    }
  }

  touch(): void {
    if (this.state === "unread") this.#set("reading");
  }

  responded(raw: AdapterResponse): void {
    this.raw = raw;
    this.#stopPhase();
    if (this.state === "pending") this.#set("unread");
    if (this.call.emit !== undefined) this.#emitResponse(this.call.emit, raw);
  }

  #emitResponse(emit: Emit, raw: AdapterResponse): void {
    this.#headersAt = now();
    emit({
      type: "response",
      ...this.#event(),
      status: raw.status,
      reused: this.reused,
      timings: this.#timings(),
    });
  }

  finish(error?: unknown): void {
    if (this.state === "done") return;
    this.#stopPhase();
    this.#permit?.release();
    this.#session._forget(this);
    this.#set("done");
    this.call.detach();
    if (this.call.emit !== undefined) this.#emitEnd(this.call.emit, error);
  }

  // Kept out of finish(): code for observers only, off the hot path.
  #emitEnd(emit: Emit, error: unknown): void {
    const failed = error ?? this.#failed;
    const base = {
      ...this.#event(),
      reused: this.reused,
      timings: this.#timings(),
    };
    if (failed !== undefined) {
      emit({
        type: "error",
        ...base,
        error: failed instanceof SessionError ? failed : this.mapError(failed),
        status: this.raw?.status,
      });
    } else {
      emit({ type: "end", ...base, status: this.raw?.status ?? 0 });
    }
  }

  #timings(): ExchangeTimings {
    const end = now();
    const sent = this.#sent;
    const headersAt = this.#headersAt;
    return {
      queued: (sent || end) - this.#created,
      headers: sent && headersAt ? headersAt - sent : undefined,
      body: headersAt && this.state === "done" ? end - headersAt : undefined,
      total: end - this.#created,
    };
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
    const mapped = this.call.mapError(error, this.parts.info);
    this.#failed = mapped;
    return mapped;
  }
}

/** A session limit bounded by an adapter's `maxInFlight` (0: none). */
function atMost(limit: number, max: number): number {
  return max > 0 && limit > max ? max : limit;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (
    let depth = 0;
    depth < 4 && typeof current === "object" && current;
    depth++
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

// Failures that mean a kept-alive connection was closed by the server as it
// was reused: Node (undici) codes, and the messages of Deno and Bun.
const STALE_CODES = new Set([
  "UND_ERR_SOCKET",
  "ECONNRESET",
  "EPIPE",
  "UND_ERR_CLOSED",
]);
const STALE_MESSAGE =
  /connection closed before message completed|connection reset|broken pipe|socket hang up|socket connection was closed unexpectedly|ECONNRESET|EPIPE/i;

function isStaleConnection(error: unknown, exchange: Exchange): boolean {
  if (exchange.reused === false) return false;
  const code = errorCode(error);
  if (code !== undefined && STALE_CODES.has(code)) {
    return exchange.reused !== undefined || code === "ECONNRESET";
  }
  if (exchange.reused !== undefined) return false;
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (STALE_MESSAGE.test(current.message)) return true;
    current = current.cause;
  }
  return false;
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
  /** Headers for baseUrl's origin (for every origin without a baseUrl). */
  #headers: HeaderRecord;
  /** Headers for other origins: without the session's credentials. */
  #foreignHeaders: HeaderRecord;
  #baseOrigin: string | undefined;
  #ownsAdapter: boolean;
  #unreadMessage: string;
  #timeouts: Timeouts;
  #retry: RetryPolicy;
  #middleware: readonly Middleware[];
  #observe: ((event: SessionEvent) => void) | undefined;
  #busy = new SlotSet<Call>();
  #raise: boolean | StatusPredicate;
  #limit: number;
  #limitPerHost: number;
  #maxQueue: number;
  #adapterOption: SessionOptions["adapter"];
  #adapter: PoolAdapter | undefined;
  #transfer: Transfer;
  #jar: CookieJar | undefined;
  #proxies: ProxyResolver | undefined;
  #hints: PoolHints;
  #limiter: Limiter | undefined;
  #live = new SlotSet<Exchange>();
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
    const config = sessionConfig(
      options as SessionOptions | ParsedOptions,
      "create session",
    );
    this.#base = config.base;
    this.#baseOrigin = config.base?.origin;
    this.#headers = config.headers;
    this.#foreignHeaders = config.foreignHeaders;
    this.#ownsAdapter = config.ownsAdapter;
    this.#unreadMessage = config.unreadMessage;
    this.#timeouts = config.timeouts;
    this.#retry = config.retry;
    this.#middleware = config.middleware;
    this.#observe = config.observe;
    this.#limit = config.limit;
    this.#limitPerHost = config.limitPerHost;
    this.#maxQueue = config.maxQueue;
    this.#raise = config.raise;
    this.#adapterOption = config.adapter;
    this.#transfer = config.transfer;
    const { network } = config;
    this.#jar = network.jar;
    const proxies = new ProxyResolver(
      network.proxy,
      network.trustEnv,
      "create session",
    );
    this.#proxies = proxies.none ? undefined : proxies;
    const hints: { -readonly [K in keyof PoolHints]: PoolHints[K] } = {
      limit: config.limit,
      limitPerHost: config.limitPerHost,
    };
    if (network.tls !== undefined) hints.tls = network.tls;
    if (network.socketPath !== undefined) {
      hints.socketPath = network.socketPath;
    }
    this.#hints = hints;
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
   * The session's cookie jar, or `undefined` when cookies are off
   * (`cookieJar: false`).
   *
   * @example
   * ```ts
   * import { Session } from "@x/sessions";
   * await using session = new Session({ baseUrl: "https://api.test", cookies: { theme: "dark" } });
   * console.log(session.cookieJar?.getCookieHeader("https://api.test/")); // "theme=dark"
   * ```
   */
  get cookieJar(): CookieJar | undefined {
    return this.#jar;
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
   * with the session's base URL, headers, timeouts, limits, pool, retries
   * and middleware. Redirects follow `init.redirect` (else the session's
   * `redirect`, "follow" by default as in fetch; "error" throws
   * `RedirectError`) and the session's `maxRedirects`; the response's `url` and `redirected` tell the outcome.
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
    if (init !== undefined && init !== null && typeof init !== "object") {
      throw new TypeError(
        `Cannot send request as fetch()'s init must be an object: received ${typeof init}`,
      );
    }
    let method = init?.method;
    let url: string | URL;
    let headers: HeadersInput | undefined = init?.headers as
      | HeadersInput
      | undefined;
    let body = init?.body;
    let signal = init?.signal ?? undefined;
    let redirect = init?.redirect;
    if (input instanceof Request) {
      redirect ??= input.redirect;
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
    if (redirect !== undefined) options.redirect = redirect;
    const response = await this.#send(method ?? "GET", url, options, FETCH);
    try {
      const native = response._toResponse();
      if (response.redirected) {
        Object.defineProperty(native, "redirected", { value: true });
      }
      return native;
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
   * `SessionClosedError`, requests in flight finish (a body being read may
   * finish within its request's timeout), then every connection is closed.
   * A body nobody started reading does not hold it up, however slow or
   * endless: its request is aborted and its connection closed at once.
   * Idempotent.
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
    this.#closing = this.#drain().then(() =>
      this.#ownsAdapter ? this.#adapter?.close() : undefined
    );
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
    for (const exchange of this.#live.snapshot()) {
      exchange.call.abort("destroyed", error);
    }
    for (const call of this.#busy.snapshot()) {
      call.abort("destroyed", error);
    }
    const adapter = this.#ownsAdapter ? this.#adapter : undefined;
    const destroyed = (adapter?.destroy() ?? Promise.resolve()).then(
      () => {
        for (const exchange of this.#live.snapshot()) {
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

  /**
   * `instanceof` that also recognises sessions made by another copy of this
   * package (its ESM and CommonJS builds, or JSR and npm), as the errors
   * do. A subclass checks its own prototype chain.
   *
   * @example
   * ```ts
   * import { Session } from "@x/sessions";
   * await using session = new Session();
   * console.log(session instanceof Session); // true
   * ```
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (this !== Session) {
      return Function.prototype[Symbol.hasInstance].call(this, value);
    }
    return typeof value === "object" && value !== null &&
      (value as Record<symbol, unknown>)[SESSION_BRAND] === true;
  }

  static {
    Object.defineProperty(Session.prototype, SESSION_BRAND, { value: true });
  }

  /** @internal An exchange is over. */
  _forget(exchange: Exchange): void {
    this.#live.delete(exchange);
  }

  async #drain(): Promise<void> {
    for (
      let round = 0;
      (this.#live.size > 0 || this.#busy.size > 0) && round < 1_000_000;
      round++
    ) {
      const waits: Promise<unknown>[] = [];
      for (const call of this.#busy.snapshot()) {
        waits.push(call.running!.catch(() => {}));
      }
      let unread = false;
      for (const exchange of this.#live.snapshot()) {
        if (exchange.state === "unread") unread = true;
        else waits.push(exchange.changed());
      }
      if (unread) {
        // Give code that just received a response one turn of the event
        // loop to start reading it, then abort what is still unread: its
        // connection is closed at once, however slow or endless the body.
        await new Promise((resolve) => setTimeout(resolve, 0));
        for (const exchange of this.#live.snapshot()) {
          if (exchange.state !== "unread") continue;
          waits.push(exchange.changed());
          exchange.call.abort(
            "closed",
            new SessionClosedError(this.#unreadMessage, {
              request: exchange.parts.info,
            }),
          );
        }
      }
      if (waits.length > 0) await Promise.race(waits);
    }
  }

  // The pool and the limiter are made at first use; the accessors stay tiny
  // for the JIT, as every request calls them.
  #getAdapter(): PoolAdapter {
    return this.#adapter ?? this.#makeAdapter();
  }

  #makeAdapter(): PoolAdapter {
    const hints = this.#hints;
    const option = this.#adapterOption;
    const adapter = option === undefined
      ? defaultAdapter(hints)
      : typeof option === "function"
      ? option(hints)
      : option;
    this.#adapter = adapter;
    if (this.#ownsAdapter) this.#tracker.adapter = adapter;
    if (adapter.sendsUserAgent === true) this.#dropDefaultUserAgent();
    return adapter;
  }

  // The runtime's client sends a User-Agent of its own: the session's
  // default is not needed (one header fewer per request).
  #dropDefaultUserAgent(): void {
    const drop = (headers: HeaderRecord): HeaderRecord => {
      if (headers["user-agent"] !== USER_AGENT) return headers;
      const copy = { ...headers };
      delete copy["user-agent"];
      return copy;
    };
    const same = this.#foreignHeaders === this.#headers;
    this.#headers = drop(this.#headers);
    this.#foreignHeaders = same ? this.#headers : drop(this.#foreignHeaders);
  }

  #getLimiter(): Limiter {
    return this.#limiter ?? this.#makeLimiter();
  }

  #makeLimiter(): Limiter {
    const adapter = this.#getAdapter();
    const max = adapter.maxInFlight ?? 0;
    return this.#limiter = new Limiter({
      limit: atMost(this.#limit, max),
      limitPerHost: atMost(this.#limitPerHost, max),
      maxQueue: this.#maxQueue,
      deferHandoff: adapter.deferHandoff === true,
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
    const method = checkMethod(methodInput, "send request");
    if (options === undefined) {
      // The common case, kept short for the JIT.
      const target = this.#resolve(url);
      let headers = target.origin === this.#baseOrigin
        ? this.#headers
        : this.#foreignHeaders;
      const inherits = headers !== this.#foreignHeaders;
      if (target.authorization !== undefined) {
        headers = withAuthorization(headers, target.authorization);
      }
      return {
        method,
        target,
        headers,
        inherits,
        body: null,
        replay: NO_BODY,
        info: { method, url: target.url! },
        signal: undefined,
        timeouts: this.#timeouts,
        priority: 0,
        raise: this.#raise,
        retry: this.#retry,
        transfer: this.#transfer,
      };
    }
    return this.#prepareWith(method, url, options);
  }

  #prepareWith(
    method: string,
    url: string | URL,
    options: RequestOptions,
  ): Prepared {
    const where = "send request";
    let target = this.#resolve(url);
    let headers = target.origin === this.#baseOrigin
      ? this.#headers
      : this.#foreignHeaders;
    const inherits = headers !== this.#foreignHeaders;
    let body: AdapterBody = null;
    let replay: (() => AdapterBody) | undefined = NO_BODY;
    let signal: AbortSignal | undefined;
    let timeouts = this.#timeouts;
    let priority = 0;
    let raise = this.#raise;
    let retry = this.#retry;
    let transfer = this.#transfer;
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
      timeouts = parseTimeouts(options.timeout, timeouts, where);
    }
    if (options.retry !== undefined) {
      retry = parseRetry(options.retry, where, retry);
    }
    if (options.raiseForStatus !== undefined) {
      raise = checkRaise(options.raiseForStatus, where);
    }
    transfer = parseTransfer(options, transfer, where);
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
      replay = prepared.replay;
      headers = prepared.headers;
    }
    if (target.authorization !== undefined) {
      headers = withAuthorization(headers, target.authorization);
    }
    const info: RequestInfo = { method, url: target.url! };
    return {
      method,
      target,
      headers,
      inherits,
      body,
      replay,
      info,
      signal,
      timeouts,
      priority,
      raise,
      retry,
      transfer,
    };
  }

  // Not async: on the fast path (no middleware, a free permit, no retry)
  // this costs two promise reactions fewer per request than an async
  // function would.
  #send(
    method: string,
    url: string | URL,
    options: RequestOptions | undefined,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    // The adapter decides the default headers: make it before the first
    // request is prepared.
    if (this.#adapter === undefined && !this.#closed) this.#makeAdapter();
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
    const call = new Call(prepared, emitter(this.#observe));
    if (this.#middleware.length > 0) {
      return this.#track(call, this.#run(call, 0, intent));
    }
    return this.#attempt(call, prepared, 0, intent).then(
      (response) => this.#settle(call, 0, response, undefined, intent),
      (error) => this.#settle(call, 0, undefined, error, intent),
    );
  }

  // Off the fast path (middleware, waits between retries) a call may hold
  // no exchange for a while: close() and destroy() find it here until it
  // settles.
  #track(
    call: Call,
    running: Promise<SessionResponse>,
  ): Promise<SessionResponse> {
    if (call.slot !== -1) return running;
    call.running = running;
    this.#busy.add(call);
    const forget = () => {
      this.#busy.delete(call);
      call.running = undefined;
    };
    running.then(forget, forget);
    return running;
  }

  /** One attempt through the middleware chain (async: not the fast path). */
  async #run(
    call: Call,
    attempt: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const { prepared } = call;
    const request = new SessionRequest({
      method: prepared.method,
      url: prepared.target.url!,
      headers: new Headers(prepared.headers),
      body: attempt === 0 ? prepared.body : prepared.replay!(),
      attempt,
      signal: call.signal,
    });
    const inner: ReadIntent = { shortcut: false };
    let response: SessionResponse | undefined;
    let error: unknown;
    try {
      response = await runChain(
        this.#middleware,
        0,
        request,
        (sent) =>
          this.#attempt(
            call,
            this.#partsOf(sent, prepared.inherits),
            attempt,
            inner,
          ),
      );
      if (!(response instanceof SessionResponse)) {
        throw new TypeError(
          `Cannot complete request as a middleware returned ${
            Object.prototype.toString.call(response)
          } instead of a SessionResponse`,
        );
      }
    } catch (caught) {
      response = undefined;
      error = call.aborted ? call.mapError(caught) : caught;
    }
    return this.#settle(call, attempt, response, error, intent);
  }

  #partsOf(request: SessionRequest, inherits: boolean): Parts {
    const where = "send request";
    const method = checkMethod(request.method, where);
    const target = this.#resolve(request.url);
    const headers: HeaderRecord = {};
    request.headers.forEach((value, name) => {
      headers[checkHeader(name, value, where)] = value;
    });
    if (inherits && target.origin !== this.#baseOrigin) {
      // A middleware sent the request to another origin: the session's
      // credentials stay with baseUrl's.
      for (const name of CREDENTIAL_HEADERS) {
        if (headers[name] === this.#headers[name]) delete headers[name];
      }
    }
    const body = request.body ?? null;
    if (
      body !== null && typeof body !== "string" &&
      !(body instanceof Uint8Array) && !(body instanceof ReadableStream)
    ) {
      throw new TypeError(
        `Cannot ${where} as a middleware set a body that is not a string, Uint8Array, ReadableStream or null`,
      );
    }
    return {
      method,
      target,
      headers,
      body,
      replay: body instanceof ReadableStream ? undefined : () => body,
      info: { method, url: target.url! },
    };
  }

  /** Send one attempt; resolves with its response, whatever the status. */
  #attempt(
    call: Call,
    parts: Parts,
    attempt: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const jar = this.#jar;
    let sent = parts;
    if (jar !== undefined && parts.headers.cookie === undefined) {
      const cookie = jar.getCookieHeader(parts.target.url!);
      if (cookie !== "") {
        sent = { ...parts, headers: { ...parts.headers, cookie } };
      }
    }
    const { onUploadProgress } = call.prepared.transfer;
    if (onUploadProgress !== undefined && parts.body !== null) {
      sent = withUploadMeter(sent, onUploadProgress);
    }
    const exchange = new Exchange(
      this,
      call,
      sent,
      attempt,
      this.#proxies?.for(parts.target.origin),
    );
    this.#live.add(exchange);
    return this.#start(exchange, parts.body).then(
      (raw) => this.#received(exchange, parts, raw, intent),
      (error) => this.#failed(exchange, parts, error, intent),
    );
  }

  /** Take a permit (or wait for one) and hand the exchange to the adapter. */
  #start(exchange: Exchange, body: AdapterBody): Promise<AdapterResponse> {
    const call = exchange.call;
    try {
      if (call.aborted) throw call.reason;
      if (body instanceof ReadableStream && body.locked) {
        throw new TypeError(
          "Cannot send the request body again: it is a stream, which can be sent only once",
        );
      }
      const limiter = this.#getLimiter();
      const permit = limiter.tryAcquire(exchange.origin);
      if (permit !== undefined) {
        exchange.permit = permit;
        return this.#dispatch(exchange);
      }
      return limiter.acquire(exchange.origin, {
        priority: call.prepared.priority,
        signal: call.signal,
      }).then((permit) => {
        exchange.permit = permit;
        return this.#dispatch(exchange);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The attempt's response headers arrived. */
  #received(
    exchange: Exchange,
    parts: Parts,
    raw: AdapterResponse,
    intent: ReadIntent,
  ): SessionResponse | Promise<SessionResponse> {
    exchange.responded(raw);
    const status = raw.status;
    if (status < 100 || status > 599) return badStatus(exchange, raw);
    const jar = this.#jar;
    if (jar !== undefined) storeCookies(jar, raw, parts.target.url!);
    const { transfer } = exchange.call.prepared;
    if (
      status >= 301 && status <= 308 && REDIRECTS.has(status) &&
      transfer.redirect !== "manual"
    ) {
      const location = raw.headers.get("location");
      if (location !== null) {
        return this.#redirect(
          exchange.call,
          parts,
          new SessionResponse(raw, parts.info, exchange, false),
          location,
          exchange.attempt,
          intent,
        );
      }
    }
    if (transfer.maxResponseSize > 0 || transfer.onDownloadProgress) {
      // Throws (and discards the body) when Content-Length is too big.
      raw = meter(raw, parts.info, transfer);
    }
    const response = new SessionResponse(
      raw,
      parts.info,
      exchange,
      !intent.shortcut,
    );
    if (parts.redirects !== undefined) {
      response._redirects = parts.redirects;
    }
    return response;
  }

  /** The attempt failed before its response headers arrived. */
  #failed(
    exchange: Exchange,
    parts: Parts,
    error: unknown,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const { call, attempt } = exchange;
    if (
      !call.staleRetried && !call.aborted && parts.replay !== undefined &&
      IDEMPOTENT.has(parts.method) &&
      isStaleConnection(error, exchange)
    ) {
      // A kept-alive connection the server had closed: send once more,
      // at once, on another connection.
      call.staleRetried = true;
      exchange.finish();
      call.emit?.({
        type: "retry",
        method: parts.info.method,
        url: parts.info.url,
        attempt,
        reason: "stale-connection",
        delay: 0,
        error,
      });
      return this.#attempt(
        call,
        { ...parts, body: parts.replay() },
        attempt,
        intent,
      );
    }
    const mapped = exchange.mapError(error);
    exchange.finish(mapped);
    throw mapped;
  }

  /** Follow (or refuse) a redirect: the next hop of the same attempt. */
  async #redirect(
    call: Call,
    parts: Parts,
    response: SessionResponse,
    location: string,
    attempt: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const { transfer } = call.prepared;
    const status = response.status;
    const redirects = parts.redirects ?? [];
    let next: Target;
    try {
      next = withUrl(
        resolveTarget(new URL(location, parts.target.url!), undefined),
      );
    } catch {
      next = undefined as unknown as Target;
    }
    const fail = async (
      reason: RedirectFailure,
      why: string,
    ): Promise<never> => {
      await response.dump();
      throw new RedirectError(reason, {
        status,
        location: next?.url ?? redact(location),
        redirects: redirects.length,
        message: `Cannot follow redirect (${status} to ${
          next?.url ?? "an invalid location"
        }) as ${why}`,
        request: parts.info,
      });
    };
    if (next === undefined) {
      return fail("invalid-location", "its Location is not an http(s) URL");
    }
    if (transfer.redirect === "error") {
      return fail("forbidden", `redirect is "error"`);
    }
    if (redirects.length >= transfer.maxRedirects) {
      return fail(
        "max-redirects",
        `it would be redirect ${
          redirects.length + 1
        } and maxRedirects is ${transfer.maxRedirects}`,
      );
    }
    let { method, headers, body, replay } = parts;
    if (
      (status === 303 && method !== "HEAD") ||
      ((status === 301 || status === 302) && method === "POST")
    ) {
      method = "GET";
      body = null;
      replay = NO_BODY;
      headers = withoutHeaders(headers, BODY_HEADERS);
    } else if (body !== null) {
      if (replay === undefined) {
        return fail(
          "unreplayable",
          "the request body is a stream, which can be sent only once",
        );
      }
      body = replay();
    }
    if (next.origin !== parts.target.origin) {
      headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
    }
    if (next.authorization !== undefined) {
      headers = { ...headers, authorization: next.authorization };
    }
    await response.dump();
    const url = next.url!;
    return this.#attempt(
      call,
      {
        method,
        target: next,
        headers,
        body,
        replay,
        info: { method, url },
        redirects: [...redirects, url],
      },
      attempt,
      intent,
    );
  }

  #dispatch(exchange: Exchange): Promise<AdapterResponse> {
    const adapter = this.#getAdapter();
    if (exchange.call.watchesSend) {
      exchange.sent(adapter.reportsConnect === true);
    }
    return adapter.dispatch(exchange);
  }

  /** After an attempt: retry, or give the user the response or error. */
  #settle(
    call: Call,
    attempt: number,
    response: SessionResponse | undefined,
    error: unknown,
    intent: ReadIntent,
  ): SessionResponse | Promise<SessionResponse> {
    const { retry } = call.prepared;
    // Most responses are not retried: decide that without #retryDelay.
    if (
      attempt >= retry.limit ||
      (response !== undefined && !retry.statusCodes.has(response.status))
    ) {
      return this.#deliver(call, response, error);
    }
    const delay = this.#retryDelay(call, attempt, response, error);
    if (delay !== undefined) {
      return this.#track(
        call,
        this.#again(call, attempt, response, error, delay, intent),
      );
    }
    return this.#deliver(call, response, error);
  }

  /** Give the user the response (raised by `raiseForStatus`) or the error. */
  #deliver(
    call: Call,
    response: SessionResponse | undefined,
    error: unknown,
  ): SessionResponse | Promise<SessionResponse> {
    call.settle();
    if (response === undefined) throw error;
    const { raise } = call.prepared;
    if (raise === false || (raise === true && response.ok)) return response;
    return this.#raiseForStatus(call, response, raise);
  }

  /** `raiseForStatus` on a response that may be an error (off the hot path). */
  #raiseForStatus(
    call: Call,
    response: SessionResponse,
    raise: boolean | StatusPredicate,
  ): SessionResponse | Promise<SessionResponse> {
    let raised: boolean;
    try {
      raised = isRaised(raise, response.status);
    } catch (error) {
      // A throwing raiseForStatus predicate: free the connection, pass the
      // error on.
      return response.dump().then(() => Promise.reject(error));
    }
    if (raised) {
      return bufferResponse(response).then(
        (buffered) => {
          throw new HttpError(buffered, response.request);
        },
        (error) => {
          throw call.mapError(error);
        },
      );
    }
    return response;
  }

  /** Milliseconds to wait before retrying, or `undefined` for no retry. */
  #retryDelay(
    call: Call,
    attempt: number,
    response: SessionResponse | undefined,
    error: unknown,
  ): number | undefined {
    // #settle has checked the attempt limit and the status already.
    const { retry, method, replay } = call.prepared;
    if (call.aborted || replay === undefined || !retry.methods.has(method)) {
      return undefined;
    }
    let delay: number | undefined;
    if (response !== undefined) {
      const after = parseRetryAfter(response.headers.get("retry-after"));
      if (after !== undefined) {
        if (after > retry.maxRetryAfter) return undefined;
        delay = after;
      }
    } else if (!(error instanceof NetworkError)) {
      return undefined;
    }
    delay ??= retry.backoff(attempt + 1);
    if (!(delay >= 0)) delay = 0;
    // A wait the total timeout would cut short only delays the error.
    if (delay >= call.remaining()) return undefined;
    return delay;
  }

  async #again(
    call: Call,
    attempt: number,
    response: SessionResponse | undefined,
    error: unknown,
    delay: number,
    intent: ReadIntent,
  ): Promise<SessionResponse> {
    const { retry, info, replay } = call.prepared;
    let wait = delay;
    if (retry.shouldRetry !== undefined) {
      const verdict = await retry.shouldRetry({
        retry: attempt + 1,
        request: info,
        response,
        error,
        delay,
      });
      if (verdict === false) {
        return this.#deliver(call, response, error);
      }
      if (typeof verdict === "number") {
        if (!(verdict >= 0) || verdict > MAX_TIMER) {
          throw new RangeError(
            `Cannot retry request as 'retry.shouldRetry' returned ${verdict}: expected a boolean or a delay in milliseconds`,
          );
        }
        wait = verdict;
      }
    }
    if (response !== undefined) await response.dump();
    call.emit?.({
      type: "retry",
      method: info.method,
      url: info.url,
      attempt: attempt + 1,
      reason: response !== undefined ? "status" : "error",
      delay: wait,
      status: response?.status,
      error,
    });
    try {
      await call.sleep(wait);
    } catch (abort) {
      call.settle();
      throw abort;
    }
    const next = attempt + 1;
    if (this.#middleware.length > 0) return this.#run(call, next, intent);
    const parts: Parts = { ...call.prepared, body: replay!() };
    return this.#attempt(call, parts, next, intent).then(
      (response) => this.#settle(call, next, response, undefined, intent),
      (error) => this.#settle(call, next, undefined, error, intent),
    );
  }
}

/** `value` as JSON text; a TypeError when JSON has no text for it. */
function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `Cannot send request as 'json' cannot be serialized: ${
        (error as Error)?.message ?? error
      }`,
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new TypeError(
      `Cannot send request as 'json' has no JSON representation: received ${typeof value}`,
    );
  }
  return text;
}

function prepareBody(
  options: RequestOptions,
  headers: HeaderRecord,
): {
  body: AdapterBody;
  replay: (() => AdapterBody) | undefined;
  headers: HeaderRecord;
} {
  let contentType: string | undefined;
  let body: AdapterBody;
  let replay: (() => AdapterBody) | undefined;
  const input = options.body;
  if (options.json !== undefined) {
    body = toJson(options.json);
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
    // A one-shot stream: never replayed.
    body = input as ReadableStream<Uint8Array>;
    return { body, replay: undefined, headers };
  } else if (input instanceof Blob || input instanceof FormData) {
    // Encoded once (FormData gets one boundary); each attempt reads a copy.
    const template = new Response(input);
    body = template.clone().body;
    replay = () => template.clone().body;
    contentType = template.headers.get("content-type") ?? undefined;
    if (input instanceof Blob && !("content-length" in headers)) {
      headers = { ...headers, "content-length": String(input.size) };
    }
  } else {
    const nodeStream = typeof (input as unknown as { pipe?: unknown })?.pipe ===
      "function";
    throw new TypeError(
      `Cannot send request as 'body' must be a string, bytes, Blob, FormData, URLSearchParams or ReadableStream: received ${
        Object.prototype.toString.call(input)
      }${
        nodeStream
          ? " (a Node.js stream: pass Readable.toWeb(stream) from node:stream)"
          : ""
      }`,
    );
  }
  if (contentType !== undefined && !("content-type" in headers)) {
    headers = { ...headers, "content-type": contentType };
  }
  if (replay === undefined) {
    const sent = body;
    replay = () => sent;
  }
  return { body, replay, headers };
}
