// In flight: what close() waits for and destroy() aborts. Exchanges are
// tracked from their start until their body is done; a call is tracked
// while it holds no exchange (between retries, inside middleware).
import { SessionClosedError } from "../errors.ts";
import { SlotSet } from "../_slots.ts";
import type { Call } from "./call.ts";
import type { Exchange } from "./exchange.ts";

export class InFlight {
  readonly #exchanges = new SlotSet<Exchange>();
  readonly #calls = new SlotSet<Call>();
  #parked = 0;

  /**
   * Requests not done: calls queued before their first exchange, and
   * exchanges waiting or with a body not read to the end.
   */
  get size(): number {
    return this.#exchanges.size + this.#parked;
  }

  /** `call` waits in the limiter's queue, before its first exchange. */
  park(call: Call): void {
    this.#parked++;
    this.enter(call);
  }

  /** ... and leaves it. */
  unpark(call: Call): void {
    this.#parked--;
    this.leave(call);
  }

  add(exchange: Exchange): void {
    this.#exchanges.add(exchange);
  }

  /** Given to each exchange: it is over. */
  readonly forget = (exchange: Exchange): void => {
    this.#exchanges.delete(exchange);
  };

  /** `call` runs without an exchange for a while (off the fast path). */
  enter(call: Call): void {
    if (call.busy++ === 0) this.#calls.add(call);
  }

  /** ... and that stretch is over. */
  leave(call: Call): void {
    if (--call.busy === 0) {
      this.#calls.delete(call);
      call.idle();
    }
  }

  /**
   * Wait until nothing is in flight. A body nobody started reading within
   * one turn of the event loop is aborted (its connection closed) with
   * `unreadMessage`.
   */
  async drain(unreadMessage: string): Promise<void> {
    for (
      let round = 0;
      (this.#exchanges.size > 0 || this.#calls.size > 0) && round < 1_000_000;
      round++
    ) {
      const waits: Promise<unknown>[] = [];
      for (const call of this.#calls.snapshot()) {
        waits.push(call.whenIdle());
      }
      let unread = false;
      for (const exchange of this.#exchanges.snapshot()) {
        if (exchange.state === "unread") unread = true;
        else waits.push(exchange.changed());
      }
      if (unread) {
        // Give code that just received a response one turn to start
        // reading it; what is still unread then cannot hold close() up.
        await new Promise((resolve) => setTimeout(resolve, 0));
        this.#abortUnread(unreadMessage, waits);
      }
      if (waits.length > 0) await Promise.race(waits);
    }
  }

  #abortUnread(message: string, waits: Promise<unknown>[]): void {
    for (const exchange of this.#exchanges.snapshot()) {
      if (exchange.state !== "unread") continue;
      waits.push(exchange.changed());
      exchange.call.abort(
        "closed",
        new SessionClosedError(message, { request: exchange.hop.info }),
      );
    }
  }

  /** Abort everything in flight with `error` (destroy()). */
  abortAll(error: SessionClosedError): void {
    for (const exchange of this.#exchanges.snapshot()) {
      exchange.call.abort("destroyed", error);
    }
    for (const call of this.#calls.snapshot()) {
      call.abort("destroyed", error);
    }
  }

  /** After destroy(): discard what is left and end every exchange. */
  endAll(): void {
    for (const exchange of this.#exchanges.snapshot()) {
      exchange.raw?.dump().catch(() => {});
      exchange.finish();
    }
  }
}
