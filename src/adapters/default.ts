// The one place that asks which runtime this is.
import type { PoolAdapter, PoolHints } from "./adapter.ts";
import { BunAdapter } from "./bun.ts";
import { DenoAdapter } from "./deno.ts";
import { FetchAdapter } from "./fetch.ts";
import { NodeAdapter } from "./node.ts";
import type { Http2Mode } from "../http2.ts";

type Runtime = "deno" | "bun" | "node" | "other";

function runtime(): Runtime {
  const global = globalThis as {
    Deno?: { createHttpClient?: unknown };
    Bun?: unknown;
    process?: { versions?: { node?: string } };
  };
  if (typeof global.Deno?.createHttpClient === "function") return "deno";
  if (global.Bun !== undefined) return "bun";
  if (global.process?.versions?.node) return "node";
  return "other";
}

/** The built-in adapter for the running runtime. */
export function defaultAdapter(hints: PoolHints): PoolAdapter {
  switch (runtime()) {
    case "deno":
      // Deno's client can neither skip certificate checks nor send
      // origin-form requests over a unix socket: undici can, on Deno too.
      if (hints.tls?.insecure || hints.socketPath !== undefined) {
        return new NodeAdapter({}, hints);
      }
      return new DenoAdapter({}, hints);
    case "bun":
      return new BunAdapter({}, hints);
    case "node":
      return new NodeAdapter({}, hints);
    default:
      return new FetchAdapter({}, hints);
  }
}

/**
 * Throw a TypeError naming the runtime when its default adapter cannot
 * speak HTTP/2 in `mode` (never a silent fall back to HTTP/1.1).
 */
export function checkDefaultHttp2(mode: Http2Mode, action: string): void {
  if (mode === false) return;
  const where = runtime();
  if (where === "bun" && mode === "prior-knowledge") {
    throw new TypeError(
      `Cannot ${action} as 'http2: "prior-knowledge"' (h2 over cleartext) is not supported on Bun: its fetch speaks HTTP/2 only over TLS (use http2: true with https URLs)`,
    );
  }
  if (where === "other") {
    throw new TypeError(
      `Cannot ${action} as 'http2' is not supported by plain fetch, which chooses the HTTP version itself (it works on Node, Deno and Bun)`,
    );
  }
}
