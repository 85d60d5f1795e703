/**
 * The `SessionError` family: every error a session raises for a request.
 *
 * Each carries the {@linkcode RequestInfo} (method and URL, never
 * credentials) and chains the underlying error as `cause`. `instanceof` works
 * across two loaded copies of the package (JSR and npm) through a
 * `Symbol.for` brand.
 *
 * @module
 */
import type { RequestInfo } from "./request_info.ts";
import type { SessionResponse } from "./response.ts";
import { statusText } from "./_status.ts";

const brands = {
  session: Symbol.for("@x/sessions/SessionError"),
  http: Symbol.for("@x/sessions/HttpError"),
  timeout: Symbol.for("@x/sessions/TimeoutError"),
  network: Symbol.for("@x/sessions/NetworkError"),
  closed: Symbol.for("@x/sessions/SessionClosedError"),
  queue: Symbol.for("@x/sessions/QueueFullError"),
  redirect: Symbol.for("@x/sessions/RedirectError"),
  size: Symbol.for("@x/sessions/ResponseSizeError"),
  circuit: Symbol.for("@x/sessions/CircuitOpenError"),
} as const;

// The brand of each class of the family (not of users' subclasses).
const classBrands = new Map<unknown, symbol>();

function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[brand] === true;
}

function describe(request: RequestInfo | undefined): string {
  return request ? `: ${request.method} ${request.url}` : "";
}

/**
 * Base class of every error a {@linkcode Session} raises for a request.
 *
 * @example Catch any session error
 * ```ts
 * import { Session, SessionError } from "@x/sessions";
 *
 * await using session = new Session();
 * try {
 *   await session.get("http://127.0.0.1:9/unreachable", { timeout: 1_000 });
 * } catch (error) {
 *   if (!(error instanceof SessionError)) throw error;
 *   console.log(error.request?.method); // "GET"
 * }
 * ```
 */
export class SessionError extends Error {
  /** The request that failed, when there was one. */
  readonly request: RequestInfo | undefined;

  /**
   * Create a session error.
   *
   * @param message What failed; the request's method and URL are appended.
   * @param options The request and the underlying `cause`.
   */
  constructor(
    message: string,
    options: { request?: RequestInfo; cause?: unknown } = {},
  ) {
    super(
      message + describe(options.request),
      "cause" in options ? { cause: options.cause } : undefined,
    );
    this.name = "SessionError";
    this.request = options.request;
    Object.defineProperty(this, brands.session, { value: true });
  }

  /**
   * `instanceof` that also recognises errors from another copy of this
   * package.
   *
   * @example
   * ```ts
   * import { SessionError } from "@x/sessions";
   * console.log(new SessionError("boom") instanceof SessionError); // true
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A user's subclass has no brand of its own: fall back to the prototype chain.
    const brand = classBrands.get(this);
    if (brand === undefined) {
      return Function.prototype[Symbol.hasInstance].call(this, value);
    }
    return hasBrand(value, brand);
  }
}

/**
 * A response whose status the session was told to treat as an error (by
 * default, any status outside 200-299; see `raiseForStatus`).
 *
 * Its `response` is already read into memory, so the connection is free and
 * the body can still be inspected.
 *
 * @example Inspect a failed response
 * ```ts
 * import { HttpError, MockAdapter, Session } from "@x/sessions";
 *
 * const adapter = new MockAdapter();
 * adapter.route("GET", "/missing", { status: 404, json: { error: "nope" } });
 * await using session = new Session({ baseUrl: "http://api.test", adapter });
 * try {
 *   await session.get("missing");
 * } catch (error) {
 *   if (!(error instanceof HttpError)) throw error;
 *   console.log(error.status, await error.response.json()); // 404 { error: "nope" }
 * }
 * ```
 */
export class HttpError extends SessionError {
  /** The response status code. */
  readonly status: number;
  /** The response, with its body read into memory. */
  readonly response: SessionResponse;
  /** The request (method and URL). */
  declare readonly request: RequestInfo;

  /**
   * Create an HTTP error for a response.
   *
   * @param response The response with the failing status.
   * @param request The request's method and URL.
   */
  constructor(response: SessionResponse, request: RequestInfo) {
    const reason = response.statusText || statusText(response.status);
    super(
      `Request failed with status ${response.status}${
        reason ? ` ${reason}` : ""
      }`,
      { request },
    );
    this.name = "HttpError";
    this.status = response.status;
    this.response = response;
    Object.defineProperty(this, brands.http, { value: true });
  }
}

/**
 * Which limit a {@linkcode TimeoutError} exceeded: the whole request
 * (`total`, retries included), opening the connection (`connect`), waiting
 * for the response headers (`headers`) or a gap between body chunks
 * (`bodyIdle`).
 *
 * @example
 * ```ts
 * import type { TimeoutPhase } from "@x/sessions";
 * const phase: TimeoutPhase = "headers";
 * ```
 */
export type TimeoutPhase = "total" | "connect" | "headers" | "bodyIdle";

const PHASE_MESSAGES: Record<TimeoutPhase, string> = {
  total: "Request timed out after",
  connect: "Request timed out: no connection within",
  headers: "Request timed out: no response headers within",
  bodyIdle: "Request timed out: no body data for",
};

/**
 * A request that did not finish within one of its timeouts; `phase` says
 * which.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@x/sessions";
 * const error = new TimeoutError(50, { request: { method: "GET", url: "http://a.test/" } });
 * console.log(error.message); // "Request timed out after 50 ms: GET http://a.test/"
 * const idle = new TimeoutError(20, { phase: "bodyIdle" });
 * console.log(idle.phase, idle.message); // "bodyIdle" "Request timed out: no body data for 20 ms"
 * ```
 */
export class TimeoutError extends SessionError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;
  /** Which limit was exceeded. */
  readonly phase: TimeoutPhase;

  /**
   * Create a timeout error.
   *
   * @param timeout The limit in milliseconds.
   * @param options The request, the underlying `cause`, the `phase`
   *   (default `"total"`) and an optional `detail` added to the message.
   */
  constructor(
    timeout: number,
    options: {
      request?: RequestInfo;
      cause?: unknown;
      phase?: TimeoutPhase;
      detail?: string;
    } = {},
  ) {
    const phase = options.phase ?? "total";
    super(
      `${PHASE_MESSAGES[phase] ?? PHASE_MESSAGES.total} ${timeout} ms${
        options.detail ? ` (${options.detail})` : ""
      }`,
      options,
    );
    this.name = "TimeoutError";
    this.timeout = timeout;
    this.phase = phase;
    Object.defineProperty(this, brands.timeout, { value: true });
  }
}

/**
 * The request could not be completed: connection refused or reset, DNS
 * failure, TLS failure, or the body stream failed.
 *
 * @example
 * ```ts
 * import { NetworkError } from "@x/sessions";
 * const error = new NetworkError("Connection refused", {
 *   request: { method: "GET", url: "http://127.0.0.1:9/" },
 * });
 * console.log(error.message); // "Connection refused: GET http://127.0.0.1:9/"
 * ```
 */
export class NetworkError extends SessionError {
  /**
   * Create a network error.
   *
   * @param message What failed.
   * @param options The request and the underlying `cause`.
   */
  constructor(
    message: string,
    options: { request?: RequestInfo; cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "NetworkError";
    Object.defineProperty(this, brands.network, { value: true });
  }
}

/**
 * The session was closed (or destroyed) before or while the request ran.
 *
 * @example
 * ```ts
 * import { Session, SessionClosedError } from "@x/sessions";
 *
 * const session = new Session();
 * await session.close();
 * try {
 *   await session.get("http://127.0.0.1:9/");
 * } catch (error) {
 *   console.log(error instanceof SessionClosedError); // true
 * }
 * ```
 */
export class SessionClosedError extends SessionError {
  /**
   * Create a closed-session error.
   *
   * @param message What happened.
   * @param options The request and the underlying `cause`.
   */
  constructor(
    message = "Session is closed",
    options: { request?: RequestInfo; cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "SessionClosedError";
    Object.defineProperty(this, brands.closed, { value: true });
  }
}

/**
 * The request was over the session's connection limit and its wait queue
 * was full (`maxQueue`).
 *
 * @example
 * ```ts
 * import { QueueFullError } from "@x/sessions";
 * const error = new QueueFullError(10);
 * console.log(error.maxQueue); // 10
 * ```
 */
export class QueueFullError extends SessionError {
  /** The queue bound that was reached. */
  readonly maxQueue: number;

  /**
   * Create a queue-full error.
   *
   * @param maxQueue The session's `maxQueue`.
   * @param options The request.
   */
  constructor(maxQueue: number, options: { request?: RequestInfo } = {}) {
    super(
      `Cannot queue request as the session's queue is full (maxQueue is ${maxQueue})`,
      options,
    );
    this.name = "QueueFullError";
    this.maxQueue = maxQueue;
    Object.defineProperty(this, brands.queue, { value: true });
  }
}

/**
 * Why a redirect was not followed: see {@linkcode RedirectError}.
 *
 * @example
 * ```ts
 * import type { RedirectFailure } from "@x/sessions";
 * const reason: RedirectFailure = "max-redirects";
 * console.log(reason); // "max-redirects"
 * ```
 */
export type RedirectFailure =
  | "forbidden"
  | "max-redirects"
  | "unreplayable"
  | "invalid-location";

/**
 * A redirect the session would not follow: `redirect: "error"` was set
 * (`"forbidden"`), the chain was longer than `maxRedirects`
 * (`"max-redirects"`), a 307/308 redirect would have to send a one-shot
 * stream body again (`"unreplayable"`), or its `Location` was not an
 * http(s) URL (`"invalid-location"`). The redirect response's body has been
 * discarded, so its connection is free.
 *
 * @example
 * ```ts
 * import { MockAdapter, RedirectError, Session } from "@x/sessions";
 *
 * const adapter = new MockAdapter()
 *   .route("GET", "/old", { status: 301, headers: { location: "/new" } });
 * await using session = new Session({
 *   baseUrl: "http://api.test",
 *   adapter,
 *   redirect: "error",
 * });
 * try {
 *   await session.get("old");
 * } catch (error) {
 *   if (!(error instanceof RedirectError)) throw error;
 *   console.log(error.reason, error.status, error.location);
 *   // "forbidden" 301 "http://api.test/new"
 * }
 * ```
 */
export class RedirectError extends SessionError {
  /** Why the redirect was not followed. */
  readonly reason: RedirectFailure;
  /** The redirect's status (301, 302, 303, 307 or 308). */
  readonly status: number;
  /** Where the redirect pointed, without user name or password. */
  readonly location: string;
  /** Redirects already followed before this one. */
  readonly redirects: number;

  /**
   * Create a redirect error.
   *
   * @param reason Why the redirect was not followed.
   * @param details The redirect's status and location, the count so far,
   * the request that got the redirect and a message.
   */
  constructor(
    reason: RedirectFailure,
    details: {
      status: number;
      location: string;
      redirects: number;
      message: string;
      request?: RequestInfo;
    },
  ) {
    super(details.message, { request: details.request });
    this.name = "RedirectError";
    this.reason = reason;
    this.status = details.status;
    this.location = details.location;
    this.redirects = details.redirects;
    Object.defineProperty(this, brands.redirect, { value: true });
  }
}

/**
 * A response body larger than the session's `maxResponseSize`: reading
 * stopped once the decoded body went past the limit (or at once, when
 * `Content-Length` already said so), and the connection was closed.
 *
 * @example
 * ```ts
 * import { ResponseSizeError } from "@x/sessions";
 * const error = new ResponseSizeError(1024, 4096, {
 *   request: { method: "GET", url: "https://a.test/big" },
 * });
 * console.log(error.limit, error.received); // 1024 4096
 * ```
 */
export class ResponseSizeError extends SessionError {
  /** The `maxResponseSize` in bytes. */
  readonly limit: number;
  /**
   * Bytes received when reading stopped, or the `Content-Length` that was
   * over the limit.
   */
  readonly received: number;

  /**
   * Create a response-size error.
   *
   * @param limit The `maxResponseSize` in bytes.
   * @param received Bytes received so far (or the announced length).
   * @param options The request.
   */
  constructor(
    limit: number,
    received: number,
    options: { request?: RequestInfo } = {},
  ) {
    super(
      `Response body is larger than maxResponseSize (${limit} bytes; received ${received})`,
      options,
    );
    this.name = "ResponseSizeError";
    this.limit = limit;
    this.received = received;
    Object.defineProperty(this, brands.size, { value: true });
  }
}

/**
 * The session's circuit breaker for the request's origin is open: too many
 * recent requests to it failed, so this one failed at once, without being
 * queued or sent. See the `circuitBreaker` option.
 *
 * @example
 * ```ts
 * import { CircuitOpenError } from "@x/sessions";
 * const error = new CircuitOpenError("https://api.test", Date.now() + 30_000);
 * console.log(error.origin); // "https://api.test"
 * ```
 */
export class CircuitOpenError extends SessionError {
  /** The origin whose circuit is open. */
  readonly origin: string;
  /** When (`Date.now()` milliseconds) it lets a trial request through. */
  readonly retryAt: number;

  /**
   * Create a circuit-open error.
   *
   * @param origin The origin whose circuit is open.
   * @param retryAt When it lets a trial request through (epoch ms).
   * @param options The request.
   */
  constructor(
    origin: string,
    retryAt: number,
    options: { request?: RequestInfo } = {},
  ) {
    const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    super(
      `Cannot send request as the circuit for ${origin} is open after repeated failures (next trial in ${seconds} s)`,
      options,
    );
    this.name = "CircuitOpenError";
    this.origin = origin;
    this.retryAt = retryAt;
    Object.defineProperty(this, brands.circuit, { value: true });
  }
}

classBrands.set(SessionError, brands.session);
classBrands.set(HttpError, brands.http);
classBrands.set(TimeoutError, brands.timeout);
classBrands.set(NetworkError, brands.network);
classBrands.set(SessionClosedError, brands.closed);
classBrands.set(QueueFullError, brands.queue);
classBrands.set(RedirectError, brands.redirect);
classBrands.set(ResponseSizeError, brands.size);
classBrands.set(CircuitOpenError, brands.circuit);
