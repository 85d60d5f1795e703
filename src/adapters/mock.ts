/**
 * A mock adapter for users' own tests: routes map to canned responses or
 * handler functions, and every request is recorded. No network is used.
 *
 * @module
 */
import type {
  AdapterRequest,
  AdapterResponse,
  PoolAdapter,
} from "./adapter.ts";
import { FetchResponse } from "./_fetch_response.ts";
import { hasNoBody } from "../_http.ts";
import { sleep } from "../_timers.ts";

/**
 * A canned response.
 *
 * @example
 * ```ts
 * import { MockAdapter, type MockReply } from "@x/sessions";
 * const reply: MockReply = { status: 201, headers: { location: "/users/1" }, json: { id: 1 } };
 * const adapter = new MockAdapter().route("POST", "/users", reply);
 * ```
 */
export interface MockReply {
  /** Status code. @default 200 */
  status?: number;
  /** Reason phrase. @default "" */
  statusText?: string;
  /** Response headers. */
  headers?: Record<string, string> | Headers;
  /** Body as text or bytes. */
  body?: string | Uint8Array;
  /** Body as JSON (sets `content-type: application/json`). */
  json?: unknown;
  /** Wait this many milliseconds before answering (abortable). */
  delay?: number;
}

/**
 * A request the mock adapter received.
 *
 * @example
 * ```ts
 * import { MockAdapter, type MockRequest } from "@x/sessions";
 * const adapter = new MockAdapter().route("*", /^\/api/, (request: MockRequest) => ({ body: request.method }));
 * ```
 */
export interface MockRequest {
  /** Upper-case method. */
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  /** Request headers. */
  readonly headers: Headers;
  /** Request body decoded as UTF-8 ("" when none). */
  readonly body: string;
}

/**
 * Computes a reply for a request.
 *
 * @example
 * ```ts
 * import { MockAdapter, type MockHandler } from "@x/sessions";
 * const echo: MockHandler = (request) => ({ body: request.body });
 * const adapter = new MockAdapter().route("POST", "/echo", echo);
 * ```
 */
export type MockHandler = (
  request: MockRequest,
) => MockReply | Response | Promise<MockReply | Response>;

interface Route {
  method: string;
  path: string | RegExp;
  reply: MockReply | MockHandler;
}

/**
 * An adapter that answers from routes instead of the network, like undici's
 * `MockAgent`. Unmatched requests fail with a `NetworkError` naming the
 * request.
 *
 * @example Test an API wrapper without a server
 * ```ts
 * import { MockAdapter, Session } from "@x/sessions";
 *
 * const adapter = new MockAdapter()
 *   .route("GET", "/v1/users/42", { json: { id: 42, name: "Ada" } })
 *   .route("POST", "/v1/users", (request) => ({ status: 201, body: request.body }));
 *
 * await using session = new Session({ baseUrl: "https://api.test/v1", adapter });
 * console.log(await session.get("users/42").json()); // { id: 42, name: "Ada" }
 * console.log(adapter.requests.length); // 1
 * ```
 */
export class MockAdapter implements PoolAdapter {
  /** Adapter name. */
  readonly name: string = "mock";
  /** Every request received, in order. */
  readonly requests: MockRequest[] = [];
  #routes: Route[] = [];
  #closed = false;

  /**
   * Add a route. Later routes win over earlier ones for the same request.
   *
   * @example
   * ```ts
   * import { MockAdapter } from "@x/sessions";
   * const adapter = new MockAdapter().route("*", /^\/health/, { body: "ok" });
   * ```
   *
   * @param method An HTTP method, or "*" for any.
   * @param path A path name ("/v1/users", query ignored), a full URL, or a
   *   regular expression tested against the path and query.
   * @param reply A canned reply or a handler.
   * @returns The adapter, for chaining.
   */
  route(
    method: string,
    path: string | RegExp,
    reply: MockReply | MockHandler,
  ): this {
    this.#routes.unshift({ method: method.toUpperCase(), path, reply });
    return this;
  }

  /**
   * `true` once `close()` or `destroy()` ran.
   *
   * @example
   * ```ts
   * import { MockAdapter } from "@x/sessions";
   * console.log(new MockAdapter().closed); // false
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Answer a request from the routes.
   *
   * @example
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
   * await using session = new Session({ baseUrl: "http://x.test", adapter });
   * console.log(await session.get("").text()); // "hi"
   * ```
   *
   * @param request The prepared request.
   * @returns The canned response.
   */
  async dispatch(request: AdapterRequest): Promise<AdapterResponse> {
    const url = request.url;
    const recorded: MockRequest = {
      method: request.method,
      url,
      headers: new Headers(request.headers as Record<string, string>),
      body: await bodyText(request.body),
    };
    this.requests.push(recorded);
    const pathname = request.path.split("?")[0];
    const route = this.#routes.find((candidate) =>
      (candidate.method === "*" || candidate.method === request.method) &&
      (candidate.path instanceof RegExp
        ? candidate.path.test(request.path)
        : candidate.path === pathname || candidate.path === url ||
          candidate.path === request.origin + pathname)
    );
    if (route === undefined) {
      throw new Error(`No mock route matches ${request.method} ${url}`);
    }
    const reply = typeof route.reply === "function"
      ? await route.reply(recorded)
      : route.reply;
    if (reply instanceof Response) {
      return new FetchResponse(reply, url, request.onDone);
    }
    if (reply.delay) await sleep(reply.delay, request.signal);
    request.signal.throwIfAborted();
    const headers = new Headers(reply.headers);
    let body: string | Uint8Array | null = reply.body ?? null;
    if (reply.json !== undefined) {
      body = JSON.stringify(reply.json);
      if (!headers.has("content-type")) {
        headers.set("content-type", "application/json");
      }
    }
    const status = reply.status ?? 200;
    const response = new Response(
      hasNoBody(request.method, status) ? null : body as BodyInit | null,
      { status, statusText: reply.statusText ?? "", headers },
    );
    return new FetchResponse(response, url, request.onDone);
  }

  /**
   * Mark the adapter closed.
   *
   * @example
   * ```ts
   * import { MockAdapter } from "@x/sessions";
   * const adapter = new MockAdapter();
   * await adapter.close();
   * console.log(adapter.closed); // true
   * ```
   */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /**
   * Mark the adapter closed, as `close()` does (a mock holds no
   * connection to drop).
   *
   * @example A test that checks a session destroys its adapter
   * ```ts
   * import { MockAdapter, Session } from "@x/sessions";
   * const adapter = new MockAdapter();
   * const session = new Session({ adapter });
   * await session.get("http://api.test/").catch(() => {}); // no route: 404
   * await session.destroy();
   * console.log(adapter.closed); // true
   * ```
   */
  destroy(): Promise<void> {
    return this.close();
  }
}

async function bodyText(body: AdapterRequest["body"]): Promise<string> {
  if (body === null) return "";
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return await new Response(body).text();
}
