// A call: one request as the user made it, from the call until the body
// the user got is done. It owns the total deadline, follows the user's
// signal, and turns failures into the user's errors. Each attempt (and
// each redirect hop) is an Exchange attached to it.
import {
  addDeadline,
  cancelDeadline,
  type Deadline,
  type DeadlineTarget,
} from "../_deadlines.ts";
import { QueueFullError, SessionClosedError, TimeoutError } from "../errors.ts";
import type { AbortSource, Permit, QueueEntry } from "../limiter.ts";
import type { Emit } from "../events.ts";
import type { RequestInfo } from "../request_info.ts";
import type { CallPlan } from "./prepare.ts";
import { toSessionError } from "./failure.ts";

/** Why a call was aborted. */
export type AbortKind = "timeout" | "user" | "destroyed" | "closed";

/** What a call needs of its current exchange. */
export interface CallExchange {
  onAbort(error: unknown): void;
}

const now = () => performance.now();

export class Call implements AbortSource, DeadlineTarget, QueueEntry {
  readonly plan: CallPlan;
  readonly emit: Emit | undefined;
  aborted = false;
  reason: unknown = undefined;
  current: CallExchange | undefined;
  /** Resent once already for a stale connection. */
  staleResent = false;
  /** Its current attempt is the trial of a half-open circuit. */
  trial = false;
  /** Index in the session's set of calls between exchanges (see SlotSet). */
  slot = -1;
  /** Nested stretches it runs without an exchange (middleware, retry waits). */
  busy = 0;
  /**
   * A permit taken for its first exchange before that exists; released
   * when the call ends if no exchange took it.
   */
  permit: Permit | undefined = undefined;
  /** When it was queued before its first exchange (observed calls only). */
  queuedAt = 0;
  /** Left the limiter's queue (see QueueEntry). */
  gone = false;
  /**
   * While it waits in the limiter's queue: called once with the permit, or
   * with none when it was refused or aborted there.
   */
  parked: ((permit: Permit | undefined) => void) | undefined = undefined;
  #idleWaiters: (() => void)[] | undefined;
  /** Phase timeouts or observers: each attempt must call `Exchange.sent()`. */
  readonly watchesSend: boolean;
  // Made on first use of `signal`: a real AbortSignal costs microseconds,
  // and the limiter's queue follows this object itself (an AbortSource).
  #controller: AbortController | undefined;
  #abortListeners: (() => void)[] | undefined;
  #kind: AbortKind | undefined;
  #onUserAbort: (() => void) | undefined;
  #deadline: Deadline | undefined;
  #exchanges = 0;
  #handedOver = false;
  #ended = false;

  constructor(plan: CallPlan, emit: Emit | undefined) {
    this.plan = plan;
    this.emit = emit;
    const { signal, timeouts } = plan;
    this.watchesSend = emit !== undefined || timeouts.connect > 0 ||
      timeouts.headers > 0;
    if (signal !== undefined) this.#follow(signal);
    if (timeouts.total > 0) this.#deadline = addDeadline(timeouts.total, this);
  }

  #follow(signal: AbortSignal): void {
    if (signal.aborted) {
      this.#kind = "user";
      this.aborted = true;
      this.reason = signal.reason;
    } else {
      this.#onUserAbort = () => this.abort("user", signal.reason);
      signal.addEventListener("abort", this.#onUserAbort, { once: true });
    }
  }

  /** A promise for the end of the current busy stretch (for close()). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => (this.#idleWaiters ??= []).push(resolve));
  }

  /** The busy stretch ended. */
  idle(): void {
    const waiters = this.#idleWaiters;
    if (waiters === undefined) return;
    this.#idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /** Milliseconds left of the total timeout (Infinity without one). */
  remaining(): number {
    const deadline = this.#deadline;
    return deadline === undefined ? Infinity : deadline.at - now();
  }

  onDeadline(): void {
    this.#deadline = undefined;
    const { timeouts, info } = this.plan;
    this.abort("timeout", new TimeoutError(timeouts.total, { request: info }));
  }

  get origin(): string {
    return this.plan.target.origin;
  }

  get priority(): number {
    return this.plan.priority;
  }

  get rated(): boolean {
    return this.plan.rated;
  }

  admit(permit: Permit): void {
    this.#unpark(permit);
  }

  refuse(reason: unknown, closing = false): void {
    this.abort(closing ? "closed" : "destroyed", reason);
    this.#unpark(undefined);
  }

  #unpark(permit: Permit | undefined): void {
    const parked = this.parked;
    if (parked === undefined) return;
    this.parked = undefined;
    parked(permit);
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.aborted) controller.abort(this.reason);
    }
    return controller.signal;
  }

  addEventListener(type: "abort", listener: () => void): void {
    if (type !== "abort") return;
    // An exact-size array: `[]` then push() reserves 17 slots.
    const listeners = this.#abortListeners;
    if (listeners === undefined) this.#abortListeners = [listener];
    else listeners.push(listener);
  }

  removeEventListener(type: "abort", listener: () => void): void {
    const listeners = this.#abortListeners;
    if (type !== "abort" || listeners === undefined) return;
    const index = listeners.indexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
  }

  abort(kind: AbortKind, error: unknown): void {
    if (this.#kind !== undefined || this.#ended) return;
    this.#kind = kind;
    this.aborted = true;
    this.reason = error;
    this.#controller?.abort(error);
    this.current?.onAbort(error);
    this.#unpark(undefined);
    const listeners = this.#abortListeners;
    if (listeners !== undefined) {
      this.#abortListeners = undefined;
      for (const listener of listeners) listener();
    }
  }

  /** An exchange of this call starts. */
  attach(exchange: CallExchange): void {
    this.#exchanges++;
    this.current = exchange;
  }

  /** An exchange of this call is over. */
  detach(): void {
    if (--this.#exchanges === 0 && this.#handedOver) this.#end();
  }

  /** The user got the response (or the error): end once its body is done. */
  handOver(): void {
    this.#handedOver = true;
    if (this.#exchanges === 0) this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#deadline !== undefined) cancelDeadline(this.#deadline);
    this.permit?.release();
    if (this.#onUserAbort !== undefined) {
      this.plan.signal!.removeEventListener("abort", this.#onUserAbort);
    }
  }

  /** The error the user gets for `error`, given how the call was aborted. */
  mapError(error: unknown, request: RequestInfo = this.plan.info): unknown {
    switch (this.#kind) {
      case "timeout":
      case "closed":
        return this.reason;
      case "user":
        return this.plan.signal!.reason;
      case "destroyed":
        return new SessionClosedError(
          "Session was destroyed while the request ran",
          { request, cause: error },
        );
    }
    if (error instanceof QueueFullError && error.request === undefined) {
      return new QueueFullError(error.maxQueue, { request });
    }
    return toSessionError(error, request, this.plan.timeouts);
  }
}
