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
    return new DenoAdapter();
  }
  if (global.Bun !== undefined) return new BunAdapter();
  if (global.process?.versions?.node) return new NodeAdapter({}, hints);
  return new FetchAdapter();
}
