// The one place that asks which runtime this is.
import type { PoolAdapter, PoolHints } from "./adapter.ts";
import { BunAdapter } from "./bun.ts";
import { DenoAdapter } from "./deno.ts";
import { FetchAdapter } from "./fetch.ts";
import { NodeAdapter } from "./node.ts";

/** The built-in adapter for the running runtime. */
export function defaultAdapter(hints: PoolHints): PoolAdapter {
  const global = globalThis as {
    Deno?: { createHttpClient?: unknown };
    Bun?: unknown;
    process?: { versions?: { node?: string } };
  };
  if (typeof global.Deno?.createHttpClient === "function") {
    // Deno's client can neither skip certificate checks nor send
    // origin-form requests over a unix socket: undici can, on Deno too.
    if (hints.tls?.insecure || hints.socketPath !== undefined) {
      return new NodeAdapter({}, hints);
    }
    return new DenoAdapter({}, hints);
  }
  if (global.Bun !== undefined) return new BunAdapter({}, hints);
  if (global.process?.versions?.node) return new NodeAdapter({}, hints);
  return new FetchAdapter({}, hints);
}
