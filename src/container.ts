/**
 * {@linkcode SessionContainer}: a class that wraps an API hides its
 * session. Methods decorated with `attachSession` (attach_session.ts)
 * share one session, opened and closed for them.
 *
 * @module
 */
import { Session } from "./session.ts";
import type { SessionOptions } from "./options.ts";
import {
  applyCookies,
  fromConfig,
  parseSessionOptions,
  type SessionConfig,
} from "./_config.ts";
import { checkObject } from "./_checks.ts";
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

/**
 * Start a decorated call on a container; returns its release (set by
 * SessionContainer's static block: attach_session.ts reaches the
 * container's bookkeeping without a public method).
 */
export let enterCall: (
  container: SessionContainer,
  counted: boolean,
) => () => void;

const UNREAD_MESSAGE =
  "Cannot read the body as the container's temporary session closed when the decorated method returned: read the body inside the method, or keep a session open with startSession() (or await using)";

/** The options of a container's sessions, parsed and applied once. */
function containerConfig(
  options: SessionOptions,
  action: string,
): SessionConfig {
  const parsed = parseSessionOptions(options, action);
  // The container's sessions come and go: an adapter instance is shared by
  // all of them and stays open (its owner closes it); a factory gives each
  // session its own.
  const adapter = parsed.adapter;
  const config = Object.freeze({
    ...parsed,
    ownsAdapter: adapter === undefined || typeof adapter === "function",
    unreadMessage: UNREAD_MESSAGE,
  });
  applyCookies(config);
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
    const action = "create session container";
    checkObject(options, action);
    const { session, idleDelay, ...sessionOptions } = options;
    if (idleDelay !== undefined) {
      if (typeof idleDelay !== "number") {
        throw new TypeError(
          `Cannot ${action} as 'idleDelay' must be a number: received ${typeof idleDelay}`,
        );
      }
      if (!(idleDelay >= 0 && idleDelay <= MAX_TIMER)) {
        throw new RangeError(
          `Cannot ${action} as 'idleDelay' must be between 0 and ${MAX_TIMER} ms: current value is ${idleDelay}`,
        );
      }
    }
    this.#idleDelay = idleDelay ?? 100;
    if (session !== undefined) {
      if (!(session instanceof Session)) {
        throw new TypeError(
          `Cannot ${action} as 'session' must be a Session`,
        );
      }
      if (Object.keys(sessionOptions).length > 0) {
        throw new TypeError(
          `Cannot ${action} as 'session' is borrowed with its own options: remove ${
            Object.keys(sessionOptions).map((k) => `'${k}'`).join(", ")
          }`,
        );
      }
      this.#borrowed = session;
    } else {
      this.#config = containerConfig(sessionOptions, action);
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
    return new Session(fromConfig(this.#config!));
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
