/**
 * {@linkcode attachSession}: gives the methods of a
 * {@linkcode SessionContainer} a session, in three forms (TC39 decorator,
 * legacy decorator, plain function).
 *
 * @module
 */
import { enterCall, SessionContainer } from "./container.ts";

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
