/**
 * {@linkcode Session}: one connection pool and shared configuration for many
 * requests, closed cleanly. A facade over `_pipeline/pipeline.ts`.
 * @module
 */
import { sessionConfig } from "./_config.ts";
import type { CookieJar } from "./cookies.ts";
import type { RequestOptions, SessionOptions } from "./options.ts";
import type { ReadIntent } from "./response.ts";
import { type ResponsePromise, responsePromise } from "./response_promise.ts";
import { fetchThrough } from "./_pipeline/fetch_bridge.ts";
import { Pipeline } from "./_pipeline/pipeline.ts";
import { watchUnclosed } from "./_unclosed.ts";

// Marks sessions for `instanceof` across copies of the package.
const SESSION_BRAND = Symbol.for("@x/sessions/Session");

/**
 * One pooled, configured HTTP session: a connection pool with shared base
 * URL, headers, timeout and limits, the same on Deno, Node and Bun.
 *
 * Make one per application (or per API) and reuse it: every request then
 * reuses warm connections. Constructing does no I/O; the pool is made at
 * the first request. Close it with `close()` or `await using`.
 *
 * @example Typical use (a mock adapter stands in for the network)
 * ```ts
 * import { MockAdapter, Session } from "@x/sessions";
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
  #pipeline: Pipeline;

  /**
   * Create a session. Does no I/O.
   *
   * @param options Base URL, headers, timeout, limits and adapter.
   * @throws {TypeError} for an unknown option or one of the wrong type, a
   *   `baseUrl` that is not an absolute http(s) URL, or an invalid header.
   * @throws {RangeError} for a limit or a timeout out of its range.
   */
  constructor(options: SessionOptions = {}) {
    const config = sessionConfig(options, "create session");
    this.#pipeline = new Pipeline(config);
    watchUnclosed(this, this.#pipeline);
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
    return this.#pipeline.closed;
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
    return this.#pipeline.inFlight.size;
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
    return this.#pipeline.adapter?.name;
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
    return this.#pipeline.cookieJar;
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
    return responsePromise(
      this.#pipeline.send(method, url, options, intent),
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
   * `fetch()` through the session: the global `fetch`'s arguments and
   * semantics (a WHATWG `Response`, never an error for a status), with the
   * session's base URL, headers, timeouts, limits, pool, retries and
   * middleware. Redirects follow `init.redirect`, else the session's
   * `redirect` ("error" throws `RedirectError`), up to `maxRedirects`.
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
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return fetchThrough(this.#pipeline, input, init);
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
    return this.#pipeline.close();
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
    return this.#pipeline.destroy();
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
}
