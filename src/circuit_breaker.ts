/**
 * The circuit breaker (the `circuitBreaker` option): per origin, after
 * `failures` failures (network errors, timeouts, 5xx) within `window` ms
 * the circuit opens and requests to that origin fail at once with
 * `CircuitOpenError`; after `cooldown` ms one trial request goes through,
 * and its success closes the circuit, its failure opens it again.
 *
 * @module
 */
import { checkKeys, checkObject, type KeyRegistry, keySet } from "./_checks.ts";
import { CircuitOpenError } from "./errors.ts";
import type { SessionEvent } from "./events.ts";
import type { RequestInfo } from "./request_info.ts";
import { MAX_TIMER } from "./_timers.ts";

/**
 * The `circuitBreaker` option.
 *
 * @example
 * ```ts
 * import { Session } from "@x/sessions";
 * await using session = new Session({
 *   circuitBreaker: { failures: 5, window: 10_000, cooldown: 30_000 },
 * });
 * ```
 */
export interface CircuitBreakerOptions {
  /** Failures within `window` that open the circuit. */
  failures: number;
  /** The window failures are counted in, in milliseconds. */
  window: number;
  /** How long the circuit stays open before a trial, in milliseconds. */
  cooldown: number;
}

const KEYS: KeyRegistry<CircuitBreakerOptions> = {
  failures: true,
  window: true,
  cooldown: true,
};
const KEY_SET = keySet(KEYS);

/** How an attempt ended, for the breaker. */
export type Outcome = "success" | "failure" | "none";

/**
 * A checked `circuitBreaker` as a new {@linkcode CircuitBreaker}, or
 * `undefined` for none (`false` or absent).
 *
 * @throws {TypeError | RangeError} naming `action` for a bad value.
 */
export function parseCircuitBreaker(
  value: unknown,
  action: string,
): CircuitBreaker | undefined {
  if (value === undefined || value === false) return undefined;
  checkObject(value, action, "circuitBreaker");
  checkKeys(value, KEY_SET, action, "circuitBreaker.");
  const { failures, window, cooldown } = value as Record<string, unknown>;
  if (
    typeof failures !== "number" || !Number.isInteger(failures) ||
    failures < 1 || failures > 1_000_000
  ) {
    throw new RangeError(
      `Cannot ${action} as 'circuitBreaker.failures' must be an integer from 1 to 1000000: current value is ${failures}`,
    );
  }
  for (const [name, ms] of [["window", window], ["cooldown", cooldown]]) {
    if (typeof ms !== "number" || !(ms > 0) || ms > MAX_TIMER) {
      throw new RangeError(
        `Cannot ${action} as 'circuitBreaker.${name}' must be a number of milliseconds above 0 and at most ${MAX_TIMER}: current value is ${ms}`,
      );
    }
  }
  return new CircuitBreaker({
    failures,
    window: window as number,
    cooldown: cooldown as number,
  });
}

// One origin's circuit: its recent failure times (a ring) and state.
class Circuit {
  readonly origin: string;
  state: "closed" | "open" | "half-open" = "closed";
  readonly failures: Float64Array;
  next = 0;
  count = 0;
  /** While open: when (performance.now()) a trial may go. */
  until = 0;
  /** While half-open: the trial is out. */
  trial = false;

  constructor(origin: string, failures: number) {
    this.origin = origin;
    this.failures = new Float64Array(failures);
  }

  /** Count a failure at `now`; `true` when `window` now holds enough. */
  fail(now: number, window: number): boolean {
    const ring = this.failures;
    ring[this.next] = now;
    this.next = (this.next + 1) % ring.length;
    if (this.count < ring.length) this.count++;
    // Full: the next slot holds the oldest of the last `failures`.
    return this.count === ring.length && now - ring[this.next] <= window;
  }
}

/**
 * The circuits of a session (or of a container's sessions, which share
 * them), one per origin.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #circuits = new Map<string, Circuit>();

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  /**
   * May a request to `origin` go? Throws `CircuitOpenError` when not;
   * returns `true` when it goes as the trial of a half-open circuit.
   */
  admit(
    origin: string,
    request: RequestInfo,
    attempt: number,
    emit: ((event: SessionEvent) => void) | undefined,
  ): boolean {
    const circuit = this.#circuits.get(origin);
    if (circuit === undefined || circuit.state === "closed") return false;
    const now = performance.now();
    if (circuit.state === "open" && now >= circuit.until) {
      circuit.state = "half-open";
      circuit.trial = false;
      emit?.({
        ...request,
        type: "circuit",
        attempt,
        origin,
        state: "half-open",
      });
    }
    if (circuit.state === "half-open" && !circuit.trial) {
      circuit.trial = true;
      return true;
    }
    throw new CircuitOpenError(origin, retryAt(circuit, now), { request });
  }

  /** How an attempt to `origin` ended (`trial`: it was the half-open trial). */
  record(
    origin: string,
    outcome: Outcome,
    trial: boolean,
    request: RequestInfo,
    attempt: number,
    emit: ((event: SessionEvent) => void) | undefined,
  ): void {
    let circuit = this.#circuits.get(origin);
    if (trial && circuit !== undefined && circuit.state === "half-open") {
      circuit.trial = false;
      if (outcome === "success") {
        this.#circuits.delete(origin);
        emit?.({
          ...request,
          type: "circuit",
          attempt,
          origin,
          state: "closed",
        });
      } else if (outcome === "failure") {
        this.#open(circuit, request, attempt, emit);
      }
      return;
    }
    if (outcome !== "failure") return;
    if (circuit === undefined) {
      circuit = new Circuit(origin, this.#options.failures);
      this.#circuits.set(origin, circuit);
    }
    if (
      circuit.state === "closed" &&
      circuit.fail(performance.now(), this.#options.window)
    ) {
      this.#open(circuit, request, attempt, emit);
    }
  }

  #open(
    circuit: Circuit,
    request: RequestInfo,
    attempt: number,
    emit: ((event: SessionEvent) => void) | undefined,
  ): void {
    const now = performance.now();
    circuit.state = "open";
    circuit.until = now + this.#options.cooldown;
    circuit.count = 0;
    emit?.({
      ...request,
      type: "circuit",
      attempt,
      origin: circuit.origin,
      state: "open",
      retryAt: retryAt(circuit, now),
    });
  }
}

function retryAt(circuit: Circuit, now: number): number {
  return Date.now() + Math.max(0, circuit.until - now);
}
