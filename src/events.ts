/**
 * Observability: an event for each step of every exchange, given to the
 * session's `observe` callback and, where `node:diagnostics_channel` exists
 * (Node, Deno, Bun), published on channels named like undici's.
 *
 * @module
 */
import type { HttpVersion } from "./http2.ts";
import { checkFunction } from "./_checks.ts";

/**
 * Milliseconds spent in each phase of one attempt.
 *
 * @example
 * ```ts
 * import type { ExchangeTimings } from "@x/sessions";
 * const slowHeaders = (timings: ExchangeTimings) => (timings.headers ?? 0) > 1_000;
 * ```
 */
export interface ExchangeTimings {
  /** Waiting for a connection slot (the session's `limit`). */
  readonly queued: number;
  /** From sending until the response headers (connecting included). */
  readonly headers?: number;
  /** From the headers until the body was read, discarded or failed. */
  readonly body?: number;
  /** The whole attempt. */
  readonly total: number;
}

/**
 * Fields every {@linkcode SessionEvent} has.
 *
 * @example
 * ```ts
 * import type { SessionEventBase } from "@x/sessions";
 * const describe = (event: SessionEventBase) => `${event.method} ${event.url} #${event.attempt}`;
 * ```
 */
export interface SessionEventBase {
  /** The request's method. */
  readonly method: string;
  /** The request's URL (never with user name or password). */
  readonly url: string;
  /** 0 for the first attempt, then 1, 2 ... for retries. */
  readonly attempt: number;
}

/**
 * One step of an exchange. `type` tells which:
 * - `"request"`: an attempt got its connection slot and is being sent;
 * - `"response"`: its headers arrived;
 * - `"end"`: its body was read to the end or discarded;
 * - `"error"`: it failed (before or after the headers);
 * - `"retry"`: the session will send it again after `delay` ms.
 *
 * @example
 * ```ts
 * import { MockAdapter, Session, type SessionEvent } from "@x/sessions";
 * const events: string[] = [];
 * const observe = (event: SessionEvent) => events.push(event.type);
 * const adapter = new MockAdapter().route("GET", "/", { body: "hi" });
 * await using session = new Session({ baseUrl: "http://api.test", adapter, observe });
 * await session.get("").text();
 * console.log(events); // ["request", "response", "end"]
 * ```
 */
export type SessionEvent =
  | (SessionEventBase & { readonly type: "request" })
  | (SessionEventBase & {
    readonly type: "response";
    readonly status: number;
    /**
     * `true` on a reused connection (over h2: a stream on an open one),
     * `false` on a new one, `undefined` when the runtime does not tell.
     */
    readonly reused: boolean | undefined;
    /** The HTTP version of the response. */
    readonly httpVersion: HttpVersion;
    readonly timings: ExchangeTimings;
  })
  | (SessionEventBase & {
    readonly type: "end";
    readonly status: number;
    readonly reused: boolean | undefined;
    /** The HTTP version of the response. */
    readonly httpVersion: HttpVersion;
    readonly timings: ExchangeTimings;
  })
  | (SessionEventBase & {
    readonly type: "error";
    readonly error: unknown;
    readonly status?: number;
    readonly reused: boolean | undefined;
    readonly timings: ExchangeTimings;
  })
  | (SessionEventBase & {
    readonly type: "retry";
    /**
     * Why: a retryable `status`, a network `error`, or a kept-alive
     * connection the server had closed (`stale-connection`, retried at
     * once); `budget` when the retry was NOT made because the session's
     * retry budget was spent (the response or error goes to the caller).
     */
    readonly reason: "status" | "error" | "stale-connection" | "budget";
    readonly delay: number;
    readonly status?: number;
    readonly error?: unknown;
  })
  | (SessionEventBase & {
    readonly type: "circuit";
    /** The origin whose circuit breaker changed state. */
    readonly origin: string;
    /** Its new state: `open` fails requests at once, `half-open` lets one trial through. */
    readonly state: "open" | "half-open" | "closed";
    /** While open: when (`Date.now()` ms) the next trial may go. */
    readonly retryAt?: number;
  });

/**
 * Names of the `node:diagnostics_channel` channels a session publishes
 * {@linkcode SessionEvent}s on, by event type.
 *
 * @example
 * ```ts ignore
 * import diagnostics from "node:diagnostics_channel";
 * import { CHANNELS } from "@x/sessions";
 * diagnostics.subscribe(CHANNELS.end, (event) => console.log(event));
 * ```
 */
export const CHANNELS: Readonly<Record<SessionEvent["type"], string>> = Object
  .freeze({
    request: "@x/sessions:request:create",
    response: "@x/sessions:request:headers",
    end: "@x/sessions:request:end",
    error: "@x/sessions:request:error",
    retry: "@x/sessions:request:retry",
    circuit: "@x/sessions:circuit",
  });

interface Channel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

const channels: Partial<Record<SessionEvent["type"], Channel>> = {};
let channelList: Channel[] = [];
try {
  const getBuiltin = (globalThis as {
    process?: { getBuiltinModule?: (name: string) => unknown };
  }).process?.getBuiltinModule;
  const dc = getBuiltin?.("node:diagnostics_channel") as
    | { channel(name: string): Channel }
    | undefined;
  if (dc !== undefined) {
    for (const type in CHANNELS) {
      const key = type as SessionEvent["type"];
      channels[key] = dc.channel(CHANNELS[key]);
    }
    channelList = Object.values(channels);
  }
} catch {
  // No diagnostics_channel here: only `observe` gets events.
}

/** Something to give events to. */
export type Emit = (event: SessionEvent) => void;

/** Check the `observe` option. */
export function parseObserve(
  value: unknown,
  action: string,
): ((event: SessionEvent) => void) | undefined {
  if (value === undefined) return undefined;
  return checkFunction("observe", value, action);
}

/** `true` while someone subscribes to one of the {@linkcode CHANNELS}. */
export function channelsListened(): boolean {
  // An indexed loop: cheaper for the JIT than for-of on the hot path.
  for (let i = 0; i < channelList.length; i++) {
    if (channelList[i].hasSubscribers) return true;
  }
  return false;
}

/**
 * A session's emitter, made once: gives each event to `observe` and to
 * the channel subscribers. Call it only when someone listens (`observe`
 * set, or {@linkcode channelsListened}): events are built only then.
 */
export function makeEmitter(
  observe: ((event: SessionEvent) => void) | undefined,
): Emit {
  return (event) => {
    if (observe !== undefined) {
      try {
        observe(event);
      } catch (error) {
        // An observer must not break requests: report it and go on.
        console.error("@x/sessions: the 'observe' callback threw", error);
      }
    }
    const channel = channels[event.type];
    if (channel?.hasSubscribers) channel.publish(event);
  };
}
