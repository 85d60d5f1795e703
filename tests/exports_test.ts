// The public API, pinned: the names mod.ts exports (values and types). A
// change to this list is a change to the package's API; make it on purpose.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as mod from "../mod.ts";
import { test } from "./_test.ts";

const VALUES = [
  "BunAdapter",
  "CHANNELS",
  "CircuitOpenError",
  "CookieJar",
  "DenoAdapter",
  "FetchAdapter",
  "HttpError",
  "MockAdapter",
  "NetworkError",
  "NodeAdapter",
  "QueueFullError",
  "RedirectError",
  "ResponsePromise",
  "ResponseSizeError",
  "Session",
  "SessionClosedError",
  "SessionContainer",
  "SessionError",
  "SessionRegistry",
  "SessionRequest",
  "SessionResponse",
  "TimeoutError",
  "attachSession",
  "parseRetryAfter",
];

const TYPES = [
  "AdapterBody",
  "AdapterRequest",
  "AdapterResponse",
  "BunAdapterOptions",
  "CircuitBreakerOptions",
  "ContainerOptions",
  "CookieInfo",
  "CookieJarOptions",
  "DenoAdapterOptions",
  "ExchangeTimings",
  "FetchAdapterOptions",
  "HeadersInput",
  "Http2Mode",
  "HttpVersion",
  "Middleware",
  "MockHandler",
  "MockReply",
  "MockRequest",
  "Next",
  "NodeAdapterOptions",
  "ParamValue",
  "PoolAdapter",
  "PoolHints",
  "Progress",
  "ProgressCallback",
  "ProxyInfo",
  "RateLimitOptions",
  "RateWindow",
  "RedirectFailure",
  "RedirectMode",
  "RequestInfo",
  "RequestOptions",
  "RetryBudgetOptions",
  "RetryOptions",
  "RetryState",
  "SearchParams",
  "SessionEvent",
  "SessionEventBase",
  "SessionMethod",
  "SessionOptions",
  "StatusPredicate",
  "TimeoutOptions",
  "TimeoutPhase",
  "TlsOptions",
];

// mod.ts itself: beside this file's directory, or (the tsc build on Node)
// up from it.
function modSource(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++, dir = dirname(dir)) {
    const candidate = join(dir, "mod.ts");
    if (existsSync(candidate)) return readFileSync(candidate, "utf8");
  }
  throw new Error("exports_test: mod.ts not found above the test");
}

// Every name in mod.ts's `export { ... } from` and `export type { ... }
// from` lists, `type ` prefixes removed.
function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const match of source.matchAll(/^export (?:type )?\{([^}]*)\}/gm)) {
    for (const entry of match[1].split(",")) {
      const name = entry.trim().replace(/^type\s+/, "");
      if (name !== "") names.push(name);
    }
  }
  return names.sort();
}

test("mod.ts exports exactly the pinned values", () => {
  assert.deepEqual(Object.keys(mod).sort(), [...VALUES].sort());
});

test("mod.ts exports exactly the pinned names, types included", () => {
  const source = modSource();
  assert.doesNotMatch(
    source,
    /^export \*/m,
    "mod.ts must list its exports by name",
  );
  assert.deepEqual(exportedNames(source), [...VALUES, ...TYPES].sort());
});
