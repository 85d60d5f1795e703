// What protects the API a session calls, per attempt: the circuit breaker
// (is the origin's circuit open? how did the attempt end?) and the retry
// budget (may this retry be made?). The rate limits live in the limiter.
import type { AdapterResponse } from "../adapters/adapter.ts";
import type { CircuitBreaker, Outcome } from "../circuit_breaker.ts";
import {
  type CircuitOpenError,
  NetworkError,
  TimeoutError,
} from "../errors.ts";
import type { Emit } from "../events.ts";
import type { RateGate } from "../rate_limit.ts";
import type { SessionResponse } from "../response.ts";
import type { RetryBudget } from "../retry_budget.ts";
import type { Call } from "./call.ts";
import { emitRetry } from "./retry.ts";
import type { CallPlan, Hop } from "./prepare.ts";

/**
 * May a call start? `CircuitOpenError` (returned, not thrown) when its
 * origin's circuit is open; `true` when it goes as a half-open trial.
 */
export function admitCall(
  breaker: CircuitBreaker | undefined,
  plan: CallPlan,
  emit: Emit | undefined,
): boolean | CircuitOpenError {
  if (breaker === undefined) return false;
  try {
    return breaker.admit(plan.target.origin, plan.info, 0, emit);
  } catch (error) {
    return error as CircuitOpenError;
  }
}

/** A retry goes only if its origin's circuit lets it (else it throws). */
export function admitRetry(
  breaker: CircuitBreaker | undefined,
  call: Call,
  attempt: number,
): void {
  if (breaker === undefined) return;
  const { plan } = call;
  call.trial = breaker.admit(plan.target.origin, plan.info, attempt, call.emit);
}

/** Tell the rate limits what a response said (Retry-After, RateLimit-*). */
export function heed(gate: RateGate, hop: Hop, raw: AdapterResponse): void {
  // One header at a time: on Node, `headers` would build a Headers object.
  const header = raw.header !== undefined
    ? (name: string) => raw.header!(name)
    : (name: string) => raw.headers.get(name);
  gate.heed(hop.target.origin, raw.status, header, performance.now());
}

// How an attempt ended, for the breaker: 5xx, network errors and timeouts fail.
function outcomeOf(
  response: SessionResponse | undefined,
  error: unknown,
): Outcome {
  if (response !== undefined) {
    return response.status >= 500 ? "failure" : "success";
  }
  return error instanceof NetworkError || error instanceof TimeoutError
    ? "failure"
    : "none";
}

/** Tell the breaker how the attempt ended (a trial's end decides the circuit). */
export function recordAttempt(
  breaker: CircuitBreaker,
  call: Call,
  attempt: number,
  response: SessionResponse | undefined,
  error: unknown,
): void {
  const { plan } = call;
  breaker.record(
    plan.target.origin,
    outcomeOf(response, error),
    call.trial,
    plan.info,
    attempt,
    call.emit,
  );
  call.trial = false;
}

/**
 * Take a retry from the budget; `false` (after a `retry` event with reason
 * `budget`) when it is spent.
 */
export function spendRetry(
  budget: RetryBudget,
  call: Call,
  attempt: number,
  response: SessionResponse | undefined,
  error: unknown,
): boolean {
  if (budget.tryRetry(performance.now())) return true;
  emitRetry(call, attempt + 1, "budget", 0, response, error);
  return false;
}
