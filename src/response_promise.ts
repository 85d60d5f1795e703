/**
 * {@linkcode ResponsePromise}: the promise a session's verb methods return,
 * with body shortcuts (`session.get(url).json()`).
 *
 * @module
 */
import type { ReadIntent, SessionResponse } from "./response.ts";

/** A response promise over a session's own promise. */
export let responsePromise: (
  inner: Promise<SessionResponse>,
  intent: ReadIntent,
) => ResponsePromise;

// The executor of session-made response promises (shared: no closure).
const PENDING = () => {};

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

  // Set by responsePromise(): the session's own promise, which every
  // reaction goes to (then() delegates; this promise itself never settles).
  // That spares a reaction and two closures per request.
  #inner: Promise<SessionResponse> | undefined;

  /**
   * Create a response promise; sessions create these. As for `new
   * Promise()`, with the body shortcuts of a response promise.
   *
   * @example
   * ```ts
   * import { MockAdapter, ResponsePromise, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/user", { json: { name: "Ada" } });
   * await using session = new Session({ baseUrl: "http://api.test", adapter });
   * // A request sent a little later, with the shortcuts still there.
   * const later = new ResponsePromise((resolve) => {
   *   setTimeout(() => resolve(session.get("user")), 10);
   * });
   * console.log(await later.json()); // { name: "Ada" }
   * ```
   *
   * @param executor As for `new Promise()`.
   */
  constructor(
    executor: (
      resolve: (value: SessionResponse | PromiseLike<SessionResponse>) => void,
      reject: (reason?: unknown) => void,
    ) => void,
  ) {
    super(executor);
  }

  static {
    responsePromise = (inner, intent) => {
      const promise = new ResponsePromise(PENDING);
      promise.#intent = intent;
      promise.#inner = inner;
      return promise;
    };
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
    const inner = this.#inner;
    if (inner !== undefined) return inner.then(onfulfilled, onrejected);
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
