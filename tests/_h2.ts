/**
 * HTTP/2 test servers (tests/fixtures/h2_server.mjs in a Node child
 * process): over TLS with a CA made at start, with 100 or 10 streams at
 * once, h2 only, HTTP/1.1 only, and h2 over cleartext; each counts TCP
 * connections and the streams each carried.
 *
 * ```ts
 * await using h2 = await startH2Servers();
 * await using session = new Session({ http2: true, tls: { ca: h2.ca } });
 * await session.get(h2.url("h2")).json();
 * console.log((await h2.stats()).h2.accepted); // 1
 * ```
 *
 * @module
 */
import { startFixtureProcess } from "./_fixture_process.ts";

/** The servers, by name. */
export type H2ServerName = "h2" | "limited" | "h2only" | "h1" | "h2c";

/** What one server counted since the start or the last reset. */
export interface H2Stats {
  /** TCP connections accepted. */
  accepted: number;
  /** TCP connections open now. */
  open: number;
  /** Requests answered or running. */
  requests: number;
  /** Requests by HTTP version ("1.1", "2.0"). */
  versions: Record<string, number>;
  /** Requests per connection (by its index). */
  streams: Record<string, number>;
  /** Most requests running at once per connection. */
  peakStreams: Record<string, number>;
}

/** The running servers. */
export interface H2Servers extends AsyncDisposable {
  /** The test CA (PEM) their certificates are signed by. */
  readonly ca: string;
  /** The base URL of `name` (`https://127.0.0.1:PORT`, `http:` for h2c). */
  url(name: H2ServerName): string;
  /** Every server's counters. */
  stats(): Promise<Record<H2ServerName, H2Stats>>;
  /** Zero the counters (not the open connections). */
  reset(): Promise<void>;
  /** Close `name`'s h2 sessions gracefully (GOAWAY); resolves with how many. */
  goaway(name: H2ServerName): Promise<number>;
  /** Stop the servers. Idempotent. */
  close(): Promise<void>;
}

/** Start the HTTP/2 servers (ready within 20 s). */
export async function startH2Servers(): Promise<H2Servers> {
  const fixture = await startFixtureProcess("tests/fixtures/h2_server.mjs", {
    lifetimeMs: 120_000,
  });
  const ports = fixture.ready.ports as Record<H2ServerName, number>;
  return {
    ca: fixture.ready.ca as string,
    url: (name) =>
      `${name === "h2c" ? "http" : "https"}://127.0.0.1:${ports[name]}`,
    async stats() {
      const reply = await fixture.command("stats");
      return reply.stats as Record<H2ServerName, H2Stats>;
    },
    async reset() {
      await fixture.command("reset");
    },
    async goaway(name) {
      return (await fixture.command("goaway", { server: name }))
        .closed as number;
    },
    close: () => fixture.close(),
    [Symbol.asyncDispose]: () => fixture.close(),
  };
}
