/**
 * Middleware: functions around every exchange of a session, in onion order.
 *
 * @module
 */
import type { SessionResponse } from "./response.ts";

/** What the session makes a {@linkcode SessionRequest} from. */
interface ChainRequestInit {
  method: string;
  url: string;
  /** The request's header record (read until a middleware asks for `headers`). */
  headers: Readonly<Record<string, string>>;
  body: string | Uint8Array | ReadableStream<Uint8Array> | null;
  attempt: number;
  /** Gives the signal when a middleware first asks for it. */
  source: { readonly signal: AbortSignal };
}

/** A request for the chain, with its headers and signal made on demand. */
export let makeRequest: (init: ChainRequestInit) => SessionRequest;
/**
 * The request's headers: the record it was made with, or the `Headers`
 * a middleware asked for (and maybe changed or replaced).
 */
export let requestHeaders: (
  request: SessionRequest,
) => Headers | Readonly<Record<string, string>>;

/**
 * The request a {@linkcode Middleware} sees, once per attempt. Change it in
 * place or pass another to `next()`.
 *
 * @example
 * ```ts
 * import { MockAdapter, type Middleware, Session } from "@x/sessions";
 * const sign: Middleware = (request, next) => {
 *   request.headers.set("x-signature", `${request.method} ${new URL(request.url).pathname}`);
 *   return next(request);
 * };
 * const adapter = new MockAdapter().route("GET", "/a", (r) => ({ body: r.headers.get("x-signature") ?? "" }));
 * await using session = new Session({ baseUrl: "http://api.test", adapter, middleware: [sign] });
 * console.log(await session.get("a").text()); // "GET /a"
 * ```
 */
export class SessionRequest {
  /** Upper-case method. */
  method: string;
  /** Absolute URL, query included. */
  url: string;
  /**
   * The body: a string, bytes, a stream or `null`. A stream can be sent
   * once only.
   */
  body: string | Uint8Array | ReadableStream<Uint8Array> | null;
  /** 0 for the first attempt, then 1, 2 ... for retries. */
  readonly attempt: number;
  // Built on first use: a middleware that never looks at them costs no
  // Headers and no AbortSignal.
  #headers: Headers | undefined;
  #record: Readonly<Record<string, string>> | undefined;
  #signal: AbortSignal | undefined;
  #source: { readonly signal: AbortSignal } | undefined;

  /**
   * Sessions create these; users do not need to.
   *
   * @param init The fields.
   */
  constructor(init: {
    method: string;
    url: string;
    headers: Headers;
    body: string | Uint8Array | ReadableStream<Uint8Array> | null;
    attempt: number;
    signal: AbortSignal;
  }) {
    this.method = init.method;
    this.url = init.url;
    this.body = init.body;
    this.attempt = init.attempt;
    this.#headers = init.headers;
    this.#signal = init.signal;
  }

  /**
   * Headers to send (the session's merged with the request's). Made when
   * first read: a middleware that never reads them costs no `Headers`.
   *
   * @example
   * ```ts
   * import { MockAdapter, type Middleware, Session } from "@x/sessions";
   * const tag: Middleware = (request, next) => {
   *   request.headers.set("x-tag", "1");
   *   return next(request);
   * };
   * const adapter = new MockAdapter().route("GET", "/", (r) => ({ body: r.headers.get("x-tag") ?? "" }));
   * await using session = new Session({ baseUrl: "http://api.test", adapter, middleware: [tag] });
   * console.log(await session.get("").text()); // "1"
   * ```
   */
  get headers(): Headers {
    return this.#headers ??= new Headers(this.#record);
  }

  /**
   * Replace the headers to send.
   *
   * @example
   * ```ts
   * import type { Middleware } from "@x/sessions";
   * const only: Middleware = (request, next) => {
   *   request.headers = new Headers({ accept: "text/plain" });
   *   return next(request);
   * };
   * ```
   */
  set headers(headers: Headers) {
    this.#headers = headers;
  }

  /**
   * Aborted when the request is cancelled or times out. Made when first
   * read.
   *
   * @example
   * ```ts
   * import type { Middleware } from "@x/sessions";
   * const log: Middleware = (request, next) => {
   *   request.signal.addEventListener("abort", () => console.log("aborted", request.url));
   *   return next(request);
   * };
   * ```
   */
  get signal(): AbortSignal {
    return this.#signal ??= this.#source!.signal;
  }

  static {
    makeRequest = (init) => {
      const request = new SessionRequest(
        init as unknown as ConstructorParameters<typeof SessionRequest>[0],
      );
      request.#headers = undefined;
      request.#signal = undefined;
      request.#record = init.headers;
      request.#source = init.source;
      return request;
    };
    requestHeaders = (request) => request.#headers ?? request.#record!;
  }
}

/**
 * Sends a request through the rest of the chain and resolves with the
 * response (of any status). Without an argument it sends the request the
 * middleware received.
 *
 * @example
 * ```ts
 * import type { Next, SessionRequest, SessionResponse } from "@x/sessions";
 * const timed = async (request: SessionRequest, next: Next): Promise<SessionResponse> => {
 *   const start = performance.now();
 *   const response = await next();
 *   console.log(request.method, request.url, response.status, performance.now() - start);
 *   return response;
 * };
 * ```
 */
export type Next = (request?: SessionRequest) => Promise<SessionResponse>;

/**
 * A function around each exchange: change the request, call `next` (once,
 * more than once, or not at all to answer by itself), then look at or
 * replace the response. The first middleware in the list is the outermost.
 * Retries run the whole chain again (see `request.attempt`), and
 * `raiseForStatus` is applied after it, so middleware sees every status.
 *
 * @example Refresh a token once on 401
 * ```ts
 * import { MockAdapter, type Middleware, Session } from "@x/sessions";
 * let token = "old";
 * const auth: Middleware = async (request, next) => {
 *   request.headers.set("authorization", `Bearer ${token}`);
 *   const response = await next(request);
 *   if (response.status !== 401) return response;
 *   await response.dump();
 *   token = "new";
 *   request.headers.set("authorization", `Bearer ${token}`);
 *   return next(request);
 * };
 * const adapter = new MockAdapter().route("GET", "/me", (r) =>
 *   r.headers.get("authorization") === "Bearer new" ? { json: { id: 1 } } : { status: 401 }
 * );
 * await using session = new Session({ baseUrl: "http://api.test", adapter, middleware: [auth] });
 * console.log(await session.get("me").json()); // { id: 1 }
 * ```
 */
export type Middleware = (
  request: SessionRequest,
  next: Next,
) => Promise<SessionResponse>;

/** Check the `middleware` option. */
export function parseMiddleware(
  value: unknown,
  action: string,
): readonly Middleware[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    value.some((item) => typeof item !== "function")
  ) {
    throw new TypeError(
      `Cannot ${action} as 'middleware' must be an array of functions (request, next) => response`,
    );
  }
  return Object.freeze([...value]);
}

/**
 * One request through a chain, to the response. `context` is the
 * session's state of the request, passed along to the chain's end.
 */
export type Chain<C> = (
  request: SessionRequest,
  context: C,
) => Promise<SessionResponse>;

/**
 * Compose `middleware` around `send` once: the first is the outermost.
 * `send` is the chain's end and gets the request the last middleware passed.
 */
export function compose<C>(
  middleware: readonly Middleware[],
  send: Chain<C>,
): Chain<C> {
  let chain = send;
  for (let i = middleware.length - 1; i >= 0; i--) {
    chain = layer(middleware[i], chain);
  }
  return chain;
}

function layer<C>(middleware: Middleware, inner: Chain<C>): Chain<C> {
  return (request, context) => {
    const next: Next = (nextRequest = request) =>
      nextRequest instanceof SessionRequest
        ? inner(nextRequest, context)
        : notARequest();
    try {
      return Promise.resolve(middleware(request, next));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function notARequest(): Promise<never> {
  return Promise.reject(
    new TypeError(
      "Cannot send request as next() was given something other than a SessionRequest",
    ),
  );
}
