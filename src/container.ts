/**
 * {@linkcode SessionContainer} and {@linkcode attachSession}: a class that
 * wraps an API hides its session. Decorated methods share one session,
 * opened and closed for them.
 *
 * @module
 */
import { Session, type SessionOptions } from "./session.ts";
import {
  applyCookies,
  checkObject,
  PARSED,
  parseSessionOptions,
  type SessionConfig,
} from "./_options.ts";
import { MAX_TIMER, unrefTimer } from "./_timers.ts";

/**
 * Options of {@linkcode SessionContainer}: any {@linkcode SessionOptions},
 * or a session to borrow, plus the idle delay of temporary sessions.
 *
 * @example
 * ```ts
 * import type { ContainerOptions } from "@x/sessions";
 * const options: ContainerOptions = { baseUrl: "https://api.example.com", idleDelay: 250 };
 * ```
 */
export interface ContainerOptions extends SessionOptions {
  // `adapter`: a factory gives each session of the container its own
  // adapter, closed with it; an instance is shared by all of them and never
  // closed by the container (close it yourself).
  /**
   * Borrow this session instead of opening one. The container never closes
   * a borrowed session; its owner does. Cannot be combined with session
   * options.
   */
  session?: Session;
  /**
   * How long (ms) a temporary session stays open after the last decorated
   * call settles, so that back-to-back calls reuse warm connections. The
   * timer never keeps the process alive.
   * @default 100
   */
  idleDelay?: number;
}

interface Temporary {
  session: Session;
  users: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

// Set by SessionContainer's static block: decorated calls reach the
// container's private bookkeeping without a public method.
let enterCall: (
  container: SessionContainer,
  counted: boolean,
) => () => void;

const UNREAD_MESSAGE =
  "Cannot read the body as the container's temporary session closed when the decorated method returned: read the body inside the method, or keep a session open with startSession() (or await using)";

/** The options of a container's sessions, parsed and applied once. */
function containerConfig(
  options: SessionOptions,
  where: string,
): SessionConfig {
  const config = parseSessionOptions(options, where);
  applyCookies(config);
  // The container's sessions come and go: an adapter instance is shared by
  // all of them and stays open (its owner closes it); a factory gives each
  // session its own.
  const adapter = config.adapter;
  if (adapter !== undefined && typeof adapter !== "function") {
    config.ownsAdapter = false;
  }
  config.unreadMessage = UNREAD_MESSAGE;
  return config;
}

/**
 * A base class for API wrappers that hides their session.
 *
 * - Inside a method decorated with {@linkcode attachSession}, `this.session`
 *   is the active session.
 * - `startSession()` opens a session that every call shares until
 *   `closeSession()` (or `await using`, which also waits for calls in
 *   flight).
 * - Without an open session, a decorated call opens a temporary session;
 *   calls that overlap in time share it, and it closes `idleDelay` ms after
 *   the last of them settles. So calls never pay for a connection each.
 * - `super({ session })` borrows a session, which the container never
 *   closes.
 *
 * @example Hide the session of an API wrapper
 * ```ts
 * import { attachSession, MockAdapter, SessionContainer } from "@x/sessions";
 *
 * const adapter = new MockAdapter().route("GET", "/v4", (request) => ({
 *   body: String(Number(new URL(request.url).searchParams.get("expr")!.split("^")[0]) ** 2),
 * }));
 *
 * class MathRequests extends SessionContainer {
 *   constructor() {
 *     super({ baseUrl: "http://math.test/v4", adapter });
 *   }
 *
 *   @attachSession
 *   async getSquare(value: number): Promise<string> {
 *     return await this.session.get("", { params: { expr: `${value}^2` } }).text();
 *   }
 * }
 *
 * await using maths = new MathRequests();
 * console.log(await Promise.all([1, 2, 3].map((v) => maths.getSquare(v)))); // ["1", "4", "9"]
 * ```
 */
export class SessionContainer implements AsyncDisposable {
  // Parsed once: every session the container opens shares it, and with it
  // one cookie jar and one adapter instance, if one was given.
  #config: SessionConfig | undefined;
  #idleDelay: number;
  #borrowed: Session | undefined;
  #opened: Session | undefined;
  #temporary: Temporary | undefined;
  #calls = 0;
  #idleWaiters: (() => void)[] = [];

  /**
   * Create a container. Does no I/O: sessions are made when first needed.
   *
   * @param options Session options for the sessions this container opens,
   * or `{ session }` to borrow one.
   * @throws {TypeError | RangeError} for invalid options, as `new Session()`.
   */
  constructor(options: ContainerOptions = {}) {
    const where = "create session container";
    checkObject(options, where);
    const { session, idleDelay, ...sessionOptions } = options;
    if (idleDelay !== undefined) {
      if (typeof idleDelay !== "number") {
        throw new TypeError(
          `Cannot ${where} as 'idleDelay' must be a number: received ${typeof idleDelay}`,
        );
      }
      if (!(idleDelay >= 0 && idleDelay <= MAX_TIMER)) {
        throw new RangeError(
          `Cannot ${where} as 'idleDelay' must be between 0 and ${MAX_TIMER} ms: current value is ${idleDelay}`,
        );
      }
    }
    this.#idleDelay = idleDelay ?? 100;
    if (session !== undefined) {
      if (!(session instanceof Session)) {
        throw new TypeError(
          `Cannot ${where} as 'session' must be a Session`,
        );
      }
      if (Object.keys(sessionOptions).length > 0) {
        throw new TypeError(
          `Cannot ${where} as 'session' is borrowed with its own options: remove ${
            Object.keys(sessionOptions).map((k) => `'${k}'`).join(", ")
          }`,
        );
      }
      this.#borrowed = session;
    } else {
      this.#config = containerConfig(sessionOptions, where);
    }
  }

  /**
   * The active session: the borrowed one, the one `startSession()` opened,
   * or the temporary one of the decorated calls in flight.
   *
   * @example
   * ```ts
   * import { attachSession, MockAdapter, SessionContainer } from "@x/sessions";
   * class Api extends SessionContainer {
   *   constructor() {
   *     super({ baseUrl: "http://api.test", adapter: new MockAdapter().route("GET", "/", { body: "hi" }) });
   *   }
   *   @attachSession
   *   async hello(): Promise<string> {
   *     return await this.session.get("").text();
   *   }
   * }
   * console.log(await new Api().hello()); // "hi"
   * ```
   *
   * @throws {Error} outside a decorated call when no session is open.
   */
  get session(): Session {
    const session = this.#borrowed ?? this.#opened ??
      (this.#temporary?.users ? this.#temporary.session : undefined);
    if (session === undefined) {
      throw new Error(
        `No open session on this ${this.constructor.name}: read 'this.session' inside a method decorated with @attachSession, or open one first with 'startSession()' (or 'await using')`,
      );
    }
    return session;
  }

  /**
   * `true` while a session is open for this container (borrowed, started,
   * or a temporary one still open).
   *
   * @example
   * ```ts
   * import { SessionContainer } from "@x/sessions";
   * const container = new SessionContainer();
   * console.log(container.hasSession); // false
   * ```
   */
  get hasSession(): boolean {
    return this.#borrowed !== undefined || this.#opened !== undefined ||
      this.#temporary !== undefined;
  }

  /**
   * Open a session that every call shares until `closeSession()`.
   * Idempotent. A temporary session still open is promoted, so warm
   * connections are kept.
   *
   * @example
   * ```ts
   * import { SessionContainer } from "@x/sessions";
   * const container = new SessionContainer({ baseUrl: "http://api.test" });
   * const session = container.startSession();
   * console.log(container.session === session); // true
   * await container.closeSession();
   * ```
   *
   * @returns The open session.
   */
  startSession(): Session {
    if (this.#borrowed !== undefined) return this.#borrowed;
    if (this.#opened === undefined) {
      const temporary = this.#temporary;
      if (temporary !== undefined) {
        if (temporary.timer !== undefined) clearTimeout(temporary.timer);
        this.#temporary = undefined;
        this.#opened = temporary.session;
      } else {
        this.#opened = this.#newSession();
      }
    }
    return this.#opened;
  }

  /**
   * Wait for decorated calls in flight, then close the session this
   * container opened (never a borrowed one). Idempotent; a later call opens
   * a new session.
   *
   * Async generator methods still being iterated are not waited for (a
   * consumer may never finish them): their next step finds the session
   * closed, or no session open. Do not await `closeSession()` inside a decorated
   * method of the same container: it would wait for that very call.
   *
   * @example
   * ```ts
   * import { SessionContainer } from "@x/sessions";
   * const container = new SessionContainer();
   * container.startSession();
   * await container.closeSession();
   * console.log(container.hasSession); // false
   * ```
   */
  async closeSession(): Promise<void> {
    while (this.#calls > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    const closing: Promise<void>[] = [];
    if (this.#opened !== undefined) {
      closing.push(this.#opened.close());
      this.#opened = undefined;
    }
    const temporary = this.#temporary;
    if (temporary !== undefined) {
      if (temporary.timer !== undefined) clearTimeout(temporary.timer);
      this.#temporary = undefined;
      closing.push(temporary.session.close());
    }
    await Promise.all(closing);
  }

  /**
   * Same as `closeSession()`, for `await using`.
   *
   * @example
   * ```ts
   * import { SessionContainer } from "@x/sessions";
   * {
   *   await using container = new SessionContainer();
   *   container.startSession();
   * } // closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeSession();
  }

  static {
    enterCall = (container, counted) => container.#enter(counted);
  }

  #newSession(): Session {
    return new Session({ [PARSED]: this.#config! } as SessionOptions);
  }

  // Start a decorated call; returns its release. `counted` calls (not
  // generators, which a consumer may abandon) are waited for by
  // closeSession().
  #enter(counted: boolean): () => void {
    if (counted) this.#calls++;
    if (this.#borrowed === undefined && this.#opened === undefined) {
      let temporary = this.#temporary;
      if (temporary === undefined) {
        temporary = this.#temporary = {
          session: this.#newSession(),
          users: 0,
          timer: undefined,
        };
      } else if (temporary.timer !== undefined) {
        clearTimeout(temporary.timer);
        temporary.timer = undefined;
      }
      temporary.users++;
      let released = false;
      const held = temporary;
      return () => {
        if (released) return;
        released = true;
        if (--held.users === 0 && this.#temporary === held) {
          held.timer = setTimeout(() => {
            if (this.#temporary === held && held.users === 0) {
              this.#temporary = undefined;
              held.session.close().catch(() => {});
            }
          }, this.#idleDelay);
          unrefTimer(held.timer);
        }
        if (counted) this.#leave();
      };
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (counted) this.#leave();
    };
  }

  #leave(): void {
    if (--this.#calls === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/**
 * Any method {@linkcode attachSession} can decorate (async functions and
 * async generator functions in practice).
 *
 * @example
 * ```ts
 * import type { SessionMethod } from "@x/sessions";
 * const method: SessionMethod = async function (id: number) { return id; };
 * ```
 */
// deno-lint-ignore no-explicit-any
export type SessionMethod = (this: any, ...args: any[]) => any;

const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {})
  .constructor;

function wrap<M extends SessionMethod>(method: M): M {
  if (typeof method !== "function") {
    throw new TypeError(
      `Cannot attach a session as @attachSession decorates methods: received ${typeof method}`,
    );
  }
  const name = method.name;
  let wrapped: SessionMethod;
  if (method instanceof AsyncGeneratorFunction) {
    wrapped = function (this: SessionContainer, ...args: unknown[]) {
      return holdWhileIterating(this, name, () => method.apply(this, args));
    };
  } else {
    wrapped = function (this: SessionContainer, ...args: unknown[]) {
      let release: () => void;
      try {
        release = enter(this, name, true);
      } catch (error) {
        return Promise.reject(error);
      }
      let result: unknown;
      try {
        result = method.apply(this, args);
      } catch (error) {
        release();
        return Promise.reject(error);
      }
      if (
        result !== null &&
        (typeof result === "object" || typeof result === "function")
      ) {
        if (typeof (result as PromiseLike<unknown>).then === "function") {
          return Promise.resolve(result).finally(release);
        }
        // An async generator compiled down to a plain function (legacy
        // decorators with an old target): hold the session while it runs.
        if (
          typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] ===
            "function"
        ) {
          release();
          return holdWhileIterating(
            this,
            name,
            () => result as AsyncIterable<unknown>,
          );
        }
      }
      release();
      return Promise.resolve(result);
    };
  }
  Object.defineProperty(wrapped, "name", { value: name });
  Object.defineProperty(wrapped, "length", { value: method.length });
  return wrapped as M;
}

// The session is taken at the first next() and released when the
// iteration ends: finished, thrown, or stopped early by the consumer.
async function* holdWhileIterating(
  self: SessionContainer,
  name: string,
  iterable: () => AsyncIterable<unknown>,
): AsyncGenerator<unknown, unknown, unknown> {
  const release = enter(self, name, false);
  try {
    return yield* iterable() as AsyncGenerator<unknown, unknown, unknown>;
  } finally {
    release();
  }
}

function enter(self: unknown, name: string, counted: boolean): () => void {
  if (!(self instanceof SessionContainer)) {
    throw new TypeError(
      `Cannot call ${
        name || "a method"
      } as @attachSession methods must be called on a SessionContainer: 'this' is ${
        self === undefined ? "undefined" : typeof self
      }`,
    );
  }
  return enterCall(self, counted);
}

/**
 * Give a method of a {@linkcode SessionContainer} a session: inside it,
 * `this.session` is the container's open session, or a temporary one
 * shared by every call in flight. Works on async methods and async
 * generator methods (which keep the session until they finish or their
 * consumer stops early).
 *
 * Three forms, all typed:
 * - a TC39 standard decorator (`@attachSession`, Deno, Bun, TypeScript 5+);
 * - a legacy `experimentalDecorators` decorator (NestJS, Angular codebases);
 * - a plain function, for JavaScript without decorators:
 *   `getText = attachSession(async function (...) {...})`.
 *
 * @example As a plain function
 * ```ts
 * import { attachSession, MockAdapter, SessionContainer } from "@x/sessions";
 *
 * class Api extends SessionContainer {
 *   constructor() {
 *     super({ baseUrl: "http://api.test", adapter: new MockAdapter().route("GET", "/", { body: "hi" }) });
 *   }
 *   hello = attachSession(async function (this: Api): Promise<string> {
 *     return await this.session.get("").text();
 *   });
 * }
 * console.log(await new Api().hello()); // "hi"
 * ```
 *
 * @example An async generator keeps its session while it is consumed
 * ```ts
 * import { attachSession, MockAdapter, SessionContainer } from "@x/sessions";
 *
 * const adapter = new MockAdapter().route("GET", /\/page\/\d+$/, (request) => ({
 *   json: { page: Number(request.url.split("/").pop()) },
 * }));
 * class Pages extends SessionContainer {
 *   constructor() {
 *     super({ baseUrl: "http://api.test", adapter });
 *   }
 *   @attachSession
 *   async *pages(count: number): AsyncGenerator<unknown> {
 *     for (let i = 1; i <= count; i++) yield await this.session.get(`page/${i}`).json();
 *   }
 * }
 * for await (const page of new Pages().pages(2)) console.log(page); // { page: 1 }, then { page: 2 }
 * ```
 */
export function attachSession<M extends SessionMethod>(method: M): M;
/**
 * The TC39 standard method decorator form of {@linkcode attachSession}.
 *
 * @example
 * ```ts
 * import { attachSession, SessionContainer } from "@x/sessions";
 * class Api extends SessionContainer {
 *   @attachSession
 *   async status(): Promise<number> {
 *     return (await this.session.head("https://example.com")).status;
 *   }
 * }
 * ```
 */
export function attachSession<M extends SessionMethod>(
  method: M,
  context: ClassMethodDecoratorContext<SessionContainer, M>,
): M;
/**
 * The legacy (`experimentalDecorators`) method decorator form of
 * {@linkcode attachSession}, as TypeScript calls it.
 *
 * @example
 * ```ts
 * import { attachSession, SessionContainer } from "@x/sessions";
 * class Api extends SessionContainer {
 *   async status(): Promise<number> {
 *     return (await this.session.head("https://example.com")).status;
 *   }
 * }
 * const descriptor = Object.getOwnPropertyDescriptor(Api.prototype, "status")!;
 * Object.defineProperty(Api.prototype, "status", attachSession(Api.prototype, "status", descriptor));
 * ```
 */
export function attachSession<D extends TypedPropertyDescriptor<SessionMethod>>(
  target: object,
  propertyKey: string | symbol,
  descriptor: D,
): D;
/**
 * Implementation of the three forms of {@linkcode attachSession}.
 *
 * @example
 * ```ts
 * import { attachSession } from "@x/sessions";
 * const wrapped = attachSession(async function named() {});
 * console.log(wrapped.name); // "named"
 * ```
 */
export function attachSession(
  ...args: unknown[]
): unknown {
  if (args.length === 3) {
    const descriptor = args[2] as TypedPropertyDescriptor<SessionMethod>;
    if (
      typeof descriptor !== "object" || descriptor === null ||
      typeof descriptor.value !== "function"
    ) {
      throw new TypeError(
        `Cannot attach a session to ${
          String(args[1])
        } as @attachSession decorates methods, not accessors or fields`,
      );
    }
    descriptor.value = wrap(descriptor.value);
    return descriptor;
  }
  if (args.length === 2) {
    const context = args[1] as ClassMethodDecoratorContext | undefined;
    if (
      typeof context === "object" && context !== null && "kind" in context &&
      context.kind !== "method"
    ) {
      throw new TypeError(
        `Cannot attach a session to ${
          String(context.name)
        } as @attachSession decorates methods, not ${context.kind}s`,
      );
    }
  }
  return wrap(args[0] as SessionMethod);
}
