/**
 * Middleware: functions around every exchange of a session, in onion order.
 *
 * @module
 */
import type { SessionResponse } from "./response.ts";

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
  /** Headers to send (the session's merged with the request's). */
  headers: Headers;
  /**
   * The body: a string, bytes, a stream or `null`. A stream can be sent
   * once only.
   */
  body: string | Uint8Array | ReadableStream<Uint8Array> | null;
  /** 0 for the first attempt, then 1, 2 ... for retries. */
  readonly attempt: number;
  /** Aborted when the request is cancelled or times out. */
  readonly signal: AbortSignal;

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
    this.headers = init.headers;
    this.body = init.body;
    this.attempt = init.attempt;
    this.signal = init.signal;
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

/** @internal Run `request` through `middleware[index...]`, then `send`. */
export function runChain(
  middleware: readonly Middleware[],
  index: number,
  request: SessionRequest,
  send: (request: SessionRequest) => Promise<SessionResponse>,
): Promise<SessionResponse> {
  if (index === middleware.length) return send(request);
  const next: Next = (nextRequest = request) => {
    if (!(nextRequest instanceof SessionRequest)) {
      return Promise.reject(
        new TypeError(
          "Cannot send request as next() was given something other than a SessionRequest",
        ),
      );
    }
    return runChain(middleware, index + 1, nextRequest, send);
  };
  try {
    return Promise.resolve(middleware[index](request, next));
  } catch (error) {
    return Promise.reject(error);
  }
}
