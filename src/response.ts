/**
 * What a session's verb methods resolve to: {@linkcode SessionResponse}, a
 * light object with the `Response` surface whose body is read when asked,
 * and {@linkcode ResponsePromise}, the promise with body shortcuts.
 *
 * @module
 */
import type { AdapterResponse } from "./adapters/adapter.ts";
import { FetchResponse, isNullBodyStatus } from "./adapters/_fetch_response.ts";
import type { RequestInfo } from "./errors.ts";

/** @internal What a response needs from the exchange that produced it. */
export interface BodyOwner {
  /** The body is being read (or discarded) by the user. */
  touch(): void;
  /** Why a body read failed, as a session error. */
  mapError(error: unknown): unknown;
  /** Set when close() discarded the body before anyone read it. */
  readonly discarded: unknown;
}

// Frees the connection of a response that was dropped without reading its body.
const unreadBodies = new FinalizationRegistry<AdapterResponse>((raw) => {
  raw.dump().catch(() => {});
});

/**
 * Set by a {@linkcode ResponsePromise} shortcut (`.json()`, ...) called
 * before the response arrives: the body will be read at once, so the
 * response needs no garbage-collection watch.
 */
export interface ReadIntent {
  shortcut: boolean;
}

const NONE: readonly string[] = Object.freeze([]);

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
  /** @internal URLs redirected to, set by the session. */
  _redirects: readonly string[] = NONE;
  /** The request's method and URL. */
  readonly request: RequestInfo;
  #raw: AdapterResponse;
  #owner: BodyOwner | undefined;
  #used = false;
  #watched = false;
  #stream: ReadableStream<Uint8Array> | null | undefined;

  /**
   * Wrap an adapter response. Sessions create these; users do not need to.
   *
   * @param raw The adapter's response.
   * @param request The request's method and URL.
   * @param owner The exchange, for error mapping (internal).
   * @param watch Free the connection if the response is garbage-collected
   * unread (internal; off when a body reader is already chained).
   */
  constructor(
    raw: AdapterResponse,
    request: RequestInfo,
    owner?: BodyOwner,
    watch: boolean = owner !== undefined,
  ) {
    this.#raw = raw;
    this.#owner = owner;
    this.status = raw.status;
    this.ok = raw.status >= 200 && raw.status < 300;
    this.request = request;
    if (watch) {
      unreadBodies.register(this, raw, raw);
      this.#watched = true;
    }
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
    return this._redirects.length > 0;
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
    return this._redirects;
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
    return this.#read(() => this.#raw.text());
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
    if (isNullBodyStatus(this.status) || this.request.method === "HEAD") {
      return this.#read(() => this.#raw.dump()) as Promise<T>;
    }
    return this.#read(() =>
      this.#raw.json().catch((error) => {
        if (!(error instanceof SyntaxError)) throw error;
        const { method, url } = this.request;
        throw new SyntaxError(
          `Cannot parse the body of ${method} ${url} as JSON: ${error.message}`,
          { cause: error },
        );
      })
    ) as Promise<T>;
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
    return this.#read(() => this.#raw.bytes());
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
    return this.#read(() => this.#raw.arrayBuffer());
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
    return this.#read(() => this.#raw.blob());
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
    this.#owner?.touch();
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

  /** @internal The adapter response, for `session.fetch()` and buffering. */
  get _raw(): AdapterResponse {
    return this.#raw;
  }

  #check(): void {
    if (this.#used) throw this.#usedError();
    if (this.#owner?.discarded) throw this.#owner.discarded;
    this.#used = true;
    this.#owner?.touch();
    // Reading holds the body; a GC of this object must not discard it.
    if (this.#watched) unreadBodies.unregister(this.#raw);
  }

  /**
   * @internal The body as a WHATWG `Response` for `session.fetch()`,
   * watched until someone starts reading it.
   */
  _toResponse(): Response {
    const raw = this.#raw;
    const owner = this.#owner;
    this.#used = true;
    if (this.#watched) unreadBodies.unregister(raw);
    const native = raw.toResponse(
      () => {
        owner?.touch();
        unreadBodies.unregister(raw);
      },
      (error) =>
        error instanceof SyntaxError
          ? error
          : fetchBodyError(owner?.mapError(error) ?? error, this.request),
    );
    unreadBodies.register(native, raw, raw);
    return native;
  }

  #usedError(): TypeError {
    return new TypeError(
      `Cannot read the body of ${this.request.method} ${this.request.url} as it was already read or discarded`,
    );
  }

  #read<T>(read: () => Promise<T>): Promise<T> {
    try {
      this.#check();
    } catch (error) {
      return Promise.reject(error);
    }
    const owner = this.#owner;
    if (owner === undefined) return read();
    return read().catch((error) => {
      throw error instanceof SyntaxError ? error : owner.mapError(error);
    });
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

/**
 * Read a response's body into memory and return a response over the
 * buffered bytes (used for `HttpError`, so the connection is freed).
 */
export async function bufferResponse(
  response: SessionResponse,
): Promise<SessionResponse> {
  const bytes =
    isNullBodyStatus(response.status) || response.request.method === "HEAD"
      ? null
      : await response.bytes();
  if (bytes === null) await response.dump();
  const raw = new FetchResponse(
    new Response(bytes as BodyInit | null, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    }),
    response.url,
    () => {},
  );
  return new SessionResponse(raw, response.request);
}

// One function each, shared by every request (no closure per call).
const readJson = (response: SessionResponse) => response.json();
const readText = (response: SessionResponse) => response.text();
const readBytes = (response: SessionResponse) => response.bytes();
const readArrayBuffer = (response: SessionResponse) => response.arrayBuffer();
const readBlob = (response: SessionResponse) => response.blob();

/**
 * The promise a verb method returns: resolves to a
 * {@linkcode SessionResponse} and offers the body readers as shortcuts,
 * which read the whole body and so always free the connection.
 *
 * @example
 * ```ts
 * import { MockAdapter, Session } from "@x/sessions";
 * const adapter = new MockAdapter().route("GET", "/users/42", { json: { id: 42 } });
 * await using session = new Session({ baseUrl: "http://api.test", adapter });
 * const user = await session.get("users/42").json<{ id: number }>();
 * console.log(user.id); // 42
 * ```
 */
export class ResponsePromise extends Promise<SessionResponse> {
  #intent: ReadIntent | undefined;

  // Set by _from(): the session's own promise. Shortcuts read from it
  // directly; this promise settles from it only once someone calls then()
  // (await, catch, finally, Promise.all...), which saves a reaction per
  // request on the `session.get(url).json()` path.
  #inner: Promise<SessionResponse> | undefined;
  #settle:
    | [(value: SessionResponse) => void, (reason: unknown) => void]
    | undefined;

  /**
   * Create a response promise. Sessions create these; users do not need to.
   *
   * @example
   * ```ts
   * import { ResponsePromise, type SessionResponse } from "@x/sessions";
   * const never = new ResponsePromise((_resolve: (r: SessionResponse) => void) => {});
   * console.log(never instanceof Promise); // true
   * ```
   *
   * @param executor As for `new Promise()`.
   * @param intent Records that a body shortcut was called (internal).
   */
  constructor(
    executor: (
      resolve: (value: SessionResponse | PromiseLike<SessionResponse>) => void,
      reject: (reason?: unknown) => void,
    ) => void,
    intent?: ReadIntent,
  ) {
    super(executor);
    this.#intent = intent;
  }

  /** @internal A response promise over a session's promise. */
  static _from(
    inner: Promise<SessionResponse>,
    intent: ReadIntent,
  ): ResponsePromise {
    let settle!: [(value: SessionResponse) => void, (reason: unknown) => void];
    const promise = new ResponsePromise((resolve, reject) => {
      settle = [resolve, reject];
    }, intent);
    promise.#inner = inner;
    promise.#settle = settle;
    return promise;
  }

  /**
   * As `Promise.prototype.then`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { status: 204 });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log(await session.get("").then((r) => r.status)); // 204
   * ```
   *
   * @param onfulfilled Called with the response.
   * @param onrejected Called with the error.
   * @returns A plain promise.
   */
  override then<A = SessionResponse, B = never>(
    onfulfilled?:
      | ((value: SessionResponse) => A | PromiseLike<A>)
      | null,
    // deno-lint-ignore no-explicit-any
    onrejected?: ((reason: any) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const settle = this.#settle;
    if (settle !== undefined) {
      this.#settle = undefined;
      this.#inner!.then(settle[0], settle[1]);
    }
    return super.then(onfulfilled, onrejected);
  }

  #read<T>(read: (response: SessionResponse) => Promise<T>): Promise<T> {
    if (this.#intent !== undefined) this.#intent.shortcut = true;
    const inner = this.#inner;
    return inner !== undefined ? inner.then(read) : this.then(read);
  }

  /**
   * Derived promises (`then`, `catch`) are plain promises.
   *
   * @example
   * ```ts
   * import { ResponsePromise } from "@x/sessions";
   * console.log(ResponsePromise[Symbol.species] === Promise); // true
   * ```
   */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  /**
   * Await the response and read its body as JSON.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { json: { ok: true } });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log(await session.get("").json()); // { ok: true }
   * ```
   *
   * @typeParam T The expected type (not checked).
   * @returns The parsed body.
   */
  json<T = unknown>(): Promise<T> {
    return this.#read(readJson) as Promise<T>;
  }

  /**
   * Await the response and read its body as text.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log(await session.get("").text()); // "hi"
   * ```
   *
   * @returns The body text.
   */
  text(): Promise<string> {
    return this.#read(readText);
  }

  /**
   * Await the response and read its body as bytes.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.get("").bytes()).length); // 2
   * ```
   *
   * @returns The body bytes.
   */
  bytes(): Promise<Uint8Array> {
    return this.#read(readBytes);
  }

  /**
   * Await the response and read its body into an `ArrayBuffer`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.get("").arrayBuffer()).byteLength); // 2
   * ```
   *
   * @returns The body as an ArrayBuffer.
   */
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read(readArrayBuffer);
  }

  /**
   * Await the response and read its body into a `Blob`.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * console.log((await session.get("").blob()).size); // 2
   * ```
   *
   * @returns The body as a Blob.
   */
  blob(): Promise<Blob> {
    return this.#read(readBlob);
  }
}
