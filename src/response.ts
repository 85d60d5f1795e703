/**
 * What a session's verb methods resolve to: {@linkcode SessionResponse}, a
 * light object with the `Response` surface whose body is read when asked,
 * and {@linkcode ResponsePromise}, the promise with body shortcuts.
 *
 * @module
 */
import type { HttpVersion } from "./http2.ts";
import type { AdapterResponse } from "./adapters/adapter.ts";
import { FetchResponse } from "./adapters/_fetch_response.ts";
import { hasNoBody } from "./_http.ts";
import type { RequestInfo } from "./request_info.ts";

/** What a response needs from the exchange that produced it. */
export interface BodyOwner {
  /** The body is being read (or discarded) by the user. */
  startReading(): void;
  /** Why a body read failed, as a session error. */
  mapError(error: unknown): unknown;
  /** Set when close() discarded the body before anyone read it. */
  readonly discarded: unknown;
}

// Frees the connection of a response dropped without reading its body.
//
// The registry watches a token the response alone holds, not the response:
// V8's young-generation GC keeps a watched object alive, and with it a whole
// response (headers, body, streams) promoted to the old generation, which
// cost Node 10 us a request. The held value is a slot emptied when reading
// starts (cheaper than unregister(), a lookup per response).
interface Unread {
  raw: AdapterResponse | undefined;
}
const unreadBodies = new FinalizationRegistry<Unread>((unread) => {
  unread.raw?.dump().catch(() => {});
});

/** Watch `raw` until the returned slot is emptied or `token` is collected. */
function watchUnread(token: object, raw: AdapterResponse): Unread {
  const unread: Unread = { raw };
  unreadBodies.register(token, unread);
  return unread;
}

// Where a Response from session.fetch() keeps its token.
const TOKEN: unique symbol = Symbol("unread body watch");

/**
 * Set by a {@linkcode ResponsePromise} shortcut (`.json()`, ...) called
 * before the response arrives: the body will be read at once, so the
 * response needs no garbage-collection watch.
 */
export interface ReadIntent {
  shortcut: boolean;
  /** `session.fetch()`: as fetch, never an error for a status. */
  readonly fetch?: boolean;
}

const NONE: readonly string[] = Object.freeze([]);

// The body readers of the adapter's response, one function each.
const READ_TEXT = (raw: AdapterResponse) => raw.text();
const READ_JSON = (raw: AdapterResponse) => raw.json();
const READ_BYTES = (raw: AdapterResponse) => raw.bytes();
const READ_ARRAY_BUFFER = (raw: AdapterResponse) => raw.arrayBuffer();
const READ_BLOB = (raw: AdapterResponse) => raw.blob();
const READ_NOTHING = (raw: AdapterResponse) => raw.dump();

/** Record the URLs a response was redirected through (the session's). */
/**
 * A response a session made (the constructor is private): `owner` is the
 * exchange, for error mapping; `watch` frees the connection if the response
 * is garbage-collected unread (off when a body reader is already chained).
 */
export let newSessionResponse: (
  raw: AdapterResponse,
  request: RequestInfo,
  owner?: BodyOwner,
  watch?: boolean,
) => SessionResponse;
export let setRedirects: (
  response: SessionResponse,
  urls: readonly string[],
) => void;
/** `session.fetch()`'s WHATWG `Response` over a response's body. */
export let toWebResponse: (response: SessionResponse) => Response;
/** The adapter's response under a session response. */
export let rawOf: (response: SessionResponse) => AdapterResponse;

/**
 * A response from a session. Awaiting a request gives status and headers;
 * the body is read when asked, at most once.
 *
 * **Releasing the connection.** Until its body is read to the end, the
 * response holds its connection and counts against the session's `limit`.
 * The connection is freed when the body is read (`json()`, `text()`, ...,
 * or `body` to the end), cancelled (`body.cancel()`), discarded with
 * `dump()` or `await using`, when the response is garbage-collected, when
 * the request's `timeout` runs out, or when the session closes (`close()`
 * discards bodies nobody started reading). Responses to HEAD and bodiless
 * statuses (204, 304) free it at once. The promise shortcuts
 * (`session.get(url).json()`) always read the body.
 *
 * @example Read status and headers, then the body
 * ```ts
 * import { MockAdapter, Session } from "@x/sessions";
 *
 * const adapter = new MockAdapter().route("GET", "/users/42", { json: { id: 42 } });
 * await using session = new Session({ baseUrl: "http://api.test", adapter });
 * const response = await session.get("users/42");
 * console.log(response.status, response.headers.get("content-type")); // 200 "application/json"
 * console.log(await response.json()); // { id: 42 }
 * ```
 *
 * @example Discard a body you do not need
 * ```ts
 * import { MockAdapter, Session } from "@x/sessions";
 *
 * const adapter = new MockAdapter().route("GET", "/big", { body: "x".repeat(1e5) });
 * await using session = new Session({ baseUrl: "http://api.test", adapter });
 * await using response = await session.get("big");
 * console.log(response.ok); // true; the body is discarded at the end of the block
 * ```
 */
export class SessionResponse implements AsyncDisposable {
  /** Status code. */
  readonly status: number;
  /** `true` for a status in 200-299. */
  readonly ok: boolean;
  #redirects: readonly string[] = NONE;
  /** The request's method and URL. */
  readonly request: RequestInfo;
  #raw: AdapterResponse;
  #owner: BodyOwner | undefined;
  #used = false;
  #unread: Unread | undefined;
  // What the unread-body watch follows (see watchUnread): only this holds it.
  #token: object | undefined;
  #stream: ReadableStream<Uint8Array> | null | undefined;

  // Sessions make these (see newSessionResponse); users get one from a
  // request, or from a WHATWG Response with SessionResponse.from().
  private constructor(raw: AdapterResponse, request: RequestInfo) {
    this.#raw = raw;
    this.status = raw.status;
    this.ok = raw.status >= 200 && raw.status < 300;
    this.request = request;
  }

  /**
   * A response made from a WHATWG `Response`, for middleware that answers
   * by itself (a cache, a stub) without calling `next()`.
   *
   * @example
   * ```ts
   * import { type Middleware, MockAdapter, Session, SessionResponse } from "@x/sessions";
   * const offline: Middleware = (request) =>
   *   Promise.resolve(SessionResponse.from(Response.json({ cached: true }), request));
   * await using session = new Session({ adapter: new MockAdapter(), middleware: [offline] });
   * console.log(await session.get("http://api.test/x").json()); // { cached: true }
   * ```
   *
   * @param response The response to wrap.
   * @param request The request it answers (method and URL).
   * @returns A session response over it.
   */
  static from(
    response: Response,
    request: { method: string; url: string } = {
      method: "GET",
      url: response.url,
    },
  ): SessionResponse {
    const info: RequestInfo = { method: request.method, url: request.url };
    return new SessionResponse(
      new FetchResponse(response, info.url, () => {}),
      info,
    );
  }

  /**
   * Reason phrase ("" when the runtime does not give one).
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { status: 201 });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.get("")).statusText); // "Created"
   * ```
   */
  get statusText(): string {
    return this.#raw.statusText;
  }

  /**
   * `true` when redirects were followed to get this response (its `url` is
   * then the last one).
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter()
   *   .route("GET", "/old", { status: 301, headers: { location: "/new" } })
   *   .route("GET", "/new", { body: "here" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const response = await session.get("old");
   * console.log(response.redirected, response.url); // true "http://api.test/new"
   * await response.dump();
   * ```
   */
  get redirected(): boolean {
    return this.#redirects.length > 0;
  }

  /**
   * Every URL a redirect led to, in order (the last is `url`); empty when
   * there was no redirect. Its length is the redirect count.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter()
   *   .route("GET", "/a", { status: 302, headers: { location: "/b" } })
   *   .route("GET", "/b", { status: 307, headers: { location: "https://other.test/c" } })
   *   .route("GET", "https://other.test/c", { body: "done" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const response = await session.get("a");
   * console.log(response.redirectUrls); // ["http://api.test/b", "https://other.test/c"]
   * await response.dump();
   * ```
   */
  get redirectUrls(): readonly string[] {
    return this.#redirects;
  }

  /**
   * The HTTP version the response came over: `"2"` when the session's
   * `http2` option let the server answer over h2, else `"1.1"`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.get("")).httpVersion); // "1.1"
   * ```
   */
  get httpVersion(): HttpVersion {
    return this.#raw.httpVersion ?? "1.1";
  }

  /**
   * Final URL (no user name or password).
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/a", { body: "" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.get("a")).url); // "http://api.test/a"
   * ```
   */
  get url(): string {
    return this.#raw.url;
  }

  /**
   * Response headers.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { headers: { etag: '"1"' } });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.get("")).headers.get("etag")); // "\"1\""
   * ```
   */
  get headers(): Headers {
    return this.#raw.headers;
  }

  /**
   * `true` once the body was read, streamed or discarded.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const response = await session.get("");
   * await response.text();
   * console.log(response.bodyUsed); // true
   * ```
   */
  get bodyUsed(): boolean {
    return this.#used;
  }

  /**
   * The body as a stream, or `null` for a response without one. Read it to
   * the end or cancel it to free the connection.
   *
   * @example Stream a body
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "chunk" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const response = await session.get("");
   * let size = 0;
   * for await (const chunk of response.body!) size += chunk.byteLength;
   * console.log(size); // 5
   * ```
   */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream === undefined) {
      this.#check();
      const owner = this.#owner;
      this.#stream = this.#raw.stream(
        owner === undefined ? undefined : (error) => owner.mapError(error),
      );
    }
    return this.#stream;
  }

  /**
   * Read the body as text (UTF-8).
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hello" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log(await (await session.get("")).text()); // "hello"
   * ```
   *
   * @returns The body text.
   * @throws {TypeError} when the body was already used.
   * @throws {TimeoutError | NetworkError} when reading fails.
   */
  text(): Promise<string> {
    return this.#read(READ_TEXT);
  }

  /**
   * Read the body as JSON. A response without a body (HEAD, 204, 304)
   * gives `undefined`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { json: [1, 2] });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const list = await (await session.get("")).json<number[]>();
   * console.log(list.length); // 2
   * ```
   *
   * @typeParam T The expected type (not checked).
   * @returns The parsed body.
   * @throws {SyntaxError} when the body is not JSON (the message names
   *   the request's method and URL).
   */
  json<T = unknown>(): Promise<T> {
    if (hasNoBody(this.request.method, this.status)) {
      return this.#read(READ_NOTHING) as Promise<T>;
    }
    return this.#read(READ_JSON) as Promise<T>;
  }

  /**
   * Read the body into a `Uint8Array`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: new Uint8Array([1, 2, 3]) });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await (await session.get("")).bytes()).length); // 3
   * ```
   *
   * @returns The body bytes.
   */
  bytes(): Promise<Uint8Array> {
    return this.#read(READ_BYTES);
  }

  /**
   * Read the body into an `ArrayBuffer`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "abc" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await (await session.get("")).arrayBuffer()).byteLength); // 3
   * ```
   *
   * @returns The body as an ArrayBuffer.
   */
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read(READ_ARRAY_BUFFER);
  }

  /**
   * Read the body into a `Blob`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "abc" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await (await session.get("")).blob()).size); // 3
   * ```
   *
   * @returns The body as a Blob.
   */
  blob(): Promise<Blob> {
    return this.#read(READ_BLOB);
  }

  /**
   * Discard the body and free the connection. Safe to call more than once
   * and after the body was read.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "unwanted" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * const response = await session.get("");
   * await response.dump();
   * ```
   */
  dump(): Promise<void> {
    if (this.#used && this.#stream === undefined) return Promise.resolve();
    this.#used = true;
    this.#owner?.startReading();
    if (this.#stream) {
      const stream = this.#stream;
      return stream.locked
        ? Promise.resolve()
        : stream.cancel().catch(() => {});
    }
    return this.#raw.dump().catch(() => {});
  }

  /**
   * Discard the body if it was not read: `await using response = ...`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "x" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * {
   *   await using response = await session.get("");
   *   console.log(response.status); // 200
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dump();
  }

  #check(): void {
    if (this.#used) throw this.#usedError();
    if (this.#owner?.discarded) throw this.#owner.discarded;
    this.#used = true;
    this.#owner?.startReading();
    // Reading holds the body; a GC of this object must not discard it.
    if (this.#unread) this.#unread.raw = undefined;
  }

  // The body as a WHATWG `Response` for `session.fetch()`, watched until
  // someone starts reading it.
  #toResponse(): Response {
    const raw = this.#raw;
    const owner = this.#owner;
    this.#used = true;
    if (this.#unread) this.#unread.raw = undefined;
    // Watched from now; the Response made next holds the token.
    const token = {};
    const unread = watchUnread(token, raw);
    const native = raw.toResponse(
      () => {
        owner?.startReading();
        unread.raw = undefined;
      },
      (error) =>
        error instanceof SyntaxError
          ? error
          : fetchBodyError(owner?.mapError(error) ?? error, this.request),
    );
    (native as Response & { [TOKEN]?: object })[TOKEN] = token;
    return native;
  }

  static {
    newSessionResponse = (raw, request, owner, watch = owner !== undefined) => {
      const response = new SessionResponse(raw, request);
      response.#owner = owner;
      if (watch) {
        response.#token = {};
        response.#unread = watchUnread(response.#token, raw);
      }
      return response;
    };
    setRedirects = (response, urls) => {
      response.#redirects = urls;
    };
    toWebResponse = (response) => response.#toResponse();
    rawOf = (response) => response.#raw;
  }

  #usedError(): TypeError {
    return new TypeError(
      `Cannot read the body of ${this.request.method} ${this.request.url} as it was already read or discarded`,
    );
  }

  // One reaction per read, for the errors: the runtime's become the
  // session's, and invalid JSON a SyntaxError naming the request.
  #read<T>(read: (raw: AdapterResponse) => Promise<T>): Promise<T> {
    try {
      this.#check();
    } catch (error) {
      return Promise.reject(error);
    }
    return read(this.#raw).then(undefined, (error) => {
      throw this.#failure(error, read === READ_JSON);
    });
  }

  #failure(error: unknown, json: boolean): unknown {
    if (error instanceof SyntaxError) {
      if (!json) return error;
      const { method, url } = this.request;
      return new SyntaxError(
        `Cannot parse the body of ${method} ${url} as JSON: ${error.message}`,
        { cause: error },
      );
    }
    const owner = this.#owner;
    return owner === undefined ? error : owner.mapError(error);
  }
}

/**
 * How a `session.fetch()` body fails: a `TypeError` as fetch's does, with
 * the session's error as `cause`.
 */
function fetchBodyError(error: unknown, request: RequestInfo): TypeError {
  const reason = error instanceof Error ? error.message : String(error);
  return new TypeError(
    `Cannot read the body of ${request.method} ${request.url}: ${reason}`,
    { cause: error },
  );
}
