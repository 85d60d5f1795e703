/**
 * HTTP sessions for Deno, Node and Bun: one connection pool and shared
 * configuration (base URL, headers, timeout, limits) for many requests,
 * closed cleanly, at the speed of the runtime's raw client.
 *
 * - {@linkcode Session}: the pooled session, with `get`/`post`/... and
 *   `fetch()`, `close()`, `destroy()` and `await using`.
 * - {@linkcode SessionResponse} and {@linkcode ResponsePromise}: status and
 *   headers first, the body when asked (`session.get(url).json()`).
 * - The `SessionError` family: {@linkcode HttpError},
 *   {@linkcode TimeoutError}, {@linkcode NetworkError},
 *   {@linkcode SessionClosedError}, {@linkcode QueueFullError}.
 * - Pool adapters: {@linkcode NodeAdapter} (undici), {@linkcode DenoAdapter},
 *   {@linkcode BunAdapter}, {@linkcode FetchAdapter}, and
 *   {@linkcode MockAdapter} for tests.
 *
 * @example One session for many requests
 * ```ts
 * import { MockAdapter, Session } from "@x/sessions";
 *
 * // The mock adapter stands in for a real API here.
 * const adapter = new MockAdapter().route("GET", "/v1/users/42", { json: { name: "Ada" } });
 *
 * await using session = new Session({ baseUrl: "https://api.example.com/v1", adapter });
 * const user = await session.get("users/42").json<{ name: string }>();
 * console.log(user.name); // "Ada"
 * ```
 *
 * @module
 */
export { Session } from "./src/session.ts";
export type {
  RequestOptions,
  SessionOptions,
  StatusPredicate,
  TimeoutOptions,
} from "./src/options.ts";
export { attachSession, type SessionMethod } from "./src/attach_session.ts";
export { type ContainerOptions, SessionContainer } from "./src/container.ts";
export { SessionRegistry } from "./src/registry.ts";
export {
  type Middleware,
  type Next,
  SessionRequest,
} from "./src/middleware.ts";
export {
  parseRetryAfter,
  type RetryOptions,
  type RetryState,
} from "./src/retry.ts";
export {
  CHANNELS,
  type ExchangeTimings,
  type SessionEvent,
  type SessionEventBase,
} from "./src/events.ts";
export { SessionResponse } from "./src/response.ts";
export { ResponsePromise } from "./src/response_promise.ts";
export {
  type CookieInfo,
  CookieJar,
  type CookieJarOptions,
} from "./src/cookies.ts";
export type {
  Progress,
  ProgressCallback,
  RedirectMode,
  TlsOptions,
} from "./src/network.ts";
export {
  CircuitOpenError,
  HttpError,
  NetworkError,
  QueueFullError,
  RedirectError,
  type RedirectFailure,
  ResponseSizeError,
  SessionClosedError,
  SessionError,
  TimeoutError,
  type TimeoutPhase,
} from "./src/errors.ts";
export type { RequestInfo } from "./src/request_info.ts";
export type { HeadersInput } from "./src/headers.ts";
export type { Http2Mode, HttpVersion } from "./src/http2.ts";
export type { RateLimitOptions, RateWindow } from "./src/rate_limit.ts";
export type { CircuitBreakerOptions } from "./src/circuit_breaker.ts";
export type { RetryBudgetOptions } from "./src/retry_budget.ts";
export type { ParamValue, SearchParams } from "./src/url.ts";
export type {
  AdapterBody,
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
  PoolHints,
  ProxyInfo,
} from "./src/adapters/adapter.ts";
export { NodeAdapter, type NodeAdapterOptions } from "./src/adapters/node.ts";
export { DenoAdapter, type DenoAdapterOptions } from "./src/adapters/deno.ts";
export { BunAdapter, type BunAdapterOptions } from "./src/adapters/bun.ts";
export {
  FetchAdapter,
  type FetchAdapterOptions,
} from "./src/adapters/fetch.ts";
export {
  MockAdapter,
  type MockHandler,
  type MockReply,
  type MockRequest,
} from "./src/adapters/mock.ts";
