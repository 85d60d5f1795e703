// An exchange: one hop of an attempt, from taking its permit until its
// body is done. It runs the phase timers, tells observers, and is what
// close() and destroy() wait for. It is also the request the adapter gets
// (one object fewer per request than a separate AdapterRequest).
import type {
  AdapterBody,
  AdapterRequest,
  AdapterResponse,
  ProxyInfo,
} from "../adapters/adapter.ts";
import {
  addDeadline,
  cancelDeadline,
  type Deadline,
  type DeadlineTarget,
} from "../_deadlines.ts";
import { SessionError, TimeoutError } from "../errors.ts";
import type { Emit, ExchangeTimings } from "../events.ts";
import type { Permit } from "../limiter.ts";
import type { BodyOwner } from "../response.ts";
import type { Slotted } from "../_slots.ts";
import { connectedTimer, type PhaseTimer, sendTimer } from "../_timeouts.ts";
import type { Call } from "./call.ts";
import type { Hop } from "./prepare.ts";

/** Where an exchange is: waiting for headers, body unread, read, done. */
export type ExchangeState = "pending" | "unread" | "reading" | "done";

const now = () => performance.now();

export class Exchange
  implements BodyOwner, DeadlineTarget, AdapterRequest, Slotted {
  readonly call: Call;
  readonly hop: Hop;
  readonly attempt: number;
  state: ExchangeState = "pending";
  discarded: unknown = undefined;
  raw: AdapterResponse | undefined;
  reused: boolean | undefined = undefined;
  /** Index in the session's set of exchanges in flight (see SlotSet). */
  slot = -1;
  #forget: (exchange: Exchange) => void;
  #permit: Permit | undefined;
  #deadline: Deadline | undefined;
  #timer: PhaseTimer | undefined;
  #waiters: (() => void)[] | undefined;
  #failed: unknown = undefined;
  // Times (performance.now()) kept only when someone observes events.
  #created = 0;
  // #created was read when it was made (not when its call was queued).
  #createdNow = false;
  #sent = 0;
  #headersAt = 0;

  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: AdapterBody;
  readonly connectTimeout: number;
  readonly bodyIdleTimeout: number;
  readonly proxy: ProxyInfo | undefined;

  /** `headers` and `body`: what this hop sends (the plan's, with cookies...). */
  constructor(
    call: Call,
    hop: Hop,
    headers: Readonly<Record<string, string>>,
    body: AdapterBody,
    attempt: number,
    proxy: ProxyInfo | undefined,
    forget: (exchange: Exchange) => void,
  ) {
    this.call = call;
    this.hop = hop;
    this.attempt = attempt;
    this.#forget = forget;
    this.method = hop.method;
    this.origin = hop.target.origin;
    this.path = hop.target.path;
    this.url = hop.target.url;
    this.headers = headers;
    this.body = body;
    const { timeouts } = call.plan;
    this.connectTimeout = timeouts.connect;
    this.bodyIdleTimeout = timeouts.bodyIdle;
    this.proxy = proxy;
    if (call.emit !== undefined) {
      // A call queued before its first exchange: that wait is this one's.
      this.#created = call.queuedAt;
      this.#createdNow = this.#created === 0;
      if (this.#createdNow) this.#created = now();
      call.queuedAt = 0;
    }
    call.attach(this);
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }

  set permit(permit: Permit) {
    this.#permit = permit;
  }

  readonly onDone = (error?: unknown): void => this.finish(error);

  /**
   * Handed to the adapter: start the phase timers, tell observers.
   * `waited`: it queued for its permit since it was made.
   */
  sent(reportsConnect: boolean, waited: boolean): void {
    this.#startTimer(sendTimer(this.call.plan.timeouts, reportsConnect));
    const emit = this.call.emit;
    if (emit !== undefined) {
      // Sent in the same turn it was made: one clock read fewer.
      this.#sent = waited || !this.#createdNow ? now() : this.#created;
      const { method, url } = this.hop.info;
      emit({ type: "request", method, url, attempt: this.attempt });
    }
  }

  /** The adapter established the connection: the headers phase starts. */
  onConnect(): void {
    if (this.state !== "pending" || this.#timer?.phase !== "connect") return;
    this.#stopTimer();
    this.#startTimer(connectedTimer(this.call.plan.timeouts));
  }

  #startTimer(timer: PhaseTimer | undefined): void {
    if (timer === undefined) return;
    this.#timer = timer;
    this.#deadline = addDeadline(timer.limit, this);
  }

  #stopTimer(): void {
    if (this.#deadline !== undefined) cancelDeadline(this.#deadline);
    this.#deadline = undefined;
    this.#timer = undefined;
  }

  onDeadline(): void {
    this.#deadline = undefined;
    const { phase, limit, detail } = this.#timer!;
    this.call.abort(
      "timeout",
      new TimeoutError(limit, { request: this.hop.info, phase, detail }),
    );
  }

  #abortTransport: ((reason: unknown) => void) | undefined = undefined;

  /** Set by adapters that abort the request themselves (see AdapterRequest). */
  get abortTransport(): ((reason: unknown) => void) | undefined {
    return this.#abortTransport;
  }

  // An abort can come before the adapter sets this (while it loads, or
  // while a wrapping adapter waits): it reaches the transport at once.
  set abortTransport(abort: ((reason: unknown) => void) | undefined) {
    this.#abortTransport = abort;
    const call = this.call;
    if (abort !== undefined && call.aborted && this.state !== "done") {
      abort(call.reason);
    }
  }

  /** The call was aborted. */
  onAbort(error: unknown): void {
    // A finished exchange gave its connection back (a retry may be waiting
    // for its delay): aborting it would reach a connection another request
    // may be using now.
    if (this.state === "done") return;
    const unread = this.state === "unread" && this.raw !== undefined;
    if (unread) {
      // Nobody started reading: the request is over; reading it later
      // gives this error.
      this.discarded = this.mapError(error);
      this.startReading();
    }
    const abort = this.#abortTransport;
    if (abort !== undefined) {
      abort(error);
    } else if (unread) {
      // Free the connection now (fetch-based runtimes would otherwise
      // hold it; their signal has aborted the rest).
      this.raw!.dump().catch(() => {}).then(() => this.finish());
    }
  }

  /** Someone reads (or discards) the body: close() waits for it now. */
  startReading(): void {
    if (this.state === "unread") this.#set("reading");
  }

  responded(raw: AdapterResponse): void {
    this.raw = raw;
    this.#permit?.answered();
    this.#stopTimer();
    if (this.state === "pending") this.#set("unread");
    if (this.call.emit !== undefined) this.#emitResponse(this.call.emit, raw);
  }

  finish(error?: unknown): void {
    if (this.state === "done") return;
    this.#stopTimer();
    this.#forget(this);
    this.#set("done");
    this.call.detach();
    if (this.call.emit !== undefined) this.#emitEnd(this.call.emit, error);
    // Last: the permit may start a queued request at once, which must find
    // this one over (its end reported before the other's start).
    const permit = this.#permit;
    if (permit !== undefined) {
      permit.answered();
      permit.release();
    }
  }

  /** A promise for the next state change (made only when close() waits). */
  changed(): Promise<void> {
    return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
  }

  #set(state: ExchangeState): void {
    this.state = state;
    const waiters = this.#waiters;
    if (waiters !== undefined) {
      this.#waiters = undefined;
      for (const resolve of waiters) resolve();
    }
  }

  mapError(error: unknown): unknown {
    const mapped = this.call.mapError(error, this.hop.info);
    this.#failed = mapped;
    return mapped;
  }

  // Events: code for observers only, kept out of the methods above.

  #emitResponse(emit: Emit, raw: AdapterResponse): void {
    const at = this.#headersAt = now();
    const { method, url } = this.hop.info;
    emit({
      type: "response",
      method,
      url,
      attempt: this.attempt,
      status: raw.status,
      reused: this.reused,
      httpVersion: raw.httpVersion ?? "1.1",
      timings: this.#timings(at),
    });
  }

  #emitEnd(emit: Emit, error: unknown): void {
    const failed = error ?? this.#failed;
    const { method, url } = this.hop.info;
    const { attempt, reused } = this;
    const timings = this.#timings(now());
    if (failed === undefined) {
      const status = this.raw?.status ?? 0;
      const httpVersion = this.raw?.httpVersion ?? "1.1";
      emit({
        type: "end",
        method,
        url,
        attempt,
        status,
        reused,
        httpVersion,
        timings,
      });
      return;
    }
    emit({
      type: "error",
      method,
      url,
      attempt,
      error: failed instanceof SessionError ? failed : this.mapError(failed),
      status: this.raw?.status,
      reused,
      timings,
    });
  }

  #timings(end: number): ExchangeTimings {
    const sent = this.#sent;
    const headersAt = this.#headersAt;
    return {
      queued: (sent || end) - this.#created,
      headers: sent && headersAt ? headersAt - sent : undefined,
      body: headersAt && this.state === "done" ? end - headersAt : undefined,
      total: end - this.#created,
    };
  }
}
