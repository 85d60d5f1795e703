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
export * from "./src/session.ts";
export {
  attachSession,
  type ContainerOptions,
  SessionContainer,
  type SessionMethod,
} from "./src/container.ts";
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
export { ResponsePromise, SessionResponse } from "./src/response.ts";
export * from "./src/cookies.ts";
export * from "./src/network.ts";
export * from "./src/errors.ts";
export {
  type HeaderRecord,
  type HeadersInput,
  mergeHeaders,
} from "./src/headers.ts";
export { appendParams, type ParamValue, type SearchParams } from "./src/url.ts";
export * from "./src/limiter.ts";
export * from "./src/adapters/adapter.ts";
export * from "./src/adapters/node.ts";
export * from "./src/adapters/deno.ts";
export * from "./src/adapters/bun.ts";
export {
  FetchAdapter,
  type FetchAdapterOptions,
} from "./src/adapters/fetch.ts";
export * from "./src/adapters/mock.ts";
