// The benchmark's targets, as ratios within one run. Each one is
// { name, runtime, window, concurrency, value, bound, atMost, ok }; a target
// whose rows did not run is listed with value undefined and ok false.
import { BARE, ROWS, SESSION_LIMIT } from "./rows.mjs";

const rawOf = (runtime) => ROWS[runtime].find(([, role]) => role === "raw")[0];

/**
 * Evaluate the targets of `windows` for `runtimes` with `get(runtime,
 * approach, window, concurrency)`, which returns a row's medians or
 * undefined.
 */
export function evaluate(runtimes, get, labels, windows) {
  const targets = [];
  const add = (runtime, window, concurrency, name, value, bound, atMost) =>
    windows.includes(window) && targets.push({
      name: `${labels[runtime]}: ${name}`,
      runtime,
      window,
      concurrency,
      value,
      bound,
      atMost,
      ok: value !== undefined &&
        (atMost ? value <= bound : value >= bound),
    });
  const rps = (runtime, approach, window, c) =>
    get(runtime, approach, window, c)?.rps;
  const over = (
    a,
    b,
  ) => (a === undefined || b === undefined ? undefined : a / b);
  for (const runtime of runtimes) {
    const raw = rawOf(runtime);
    const bare = (window, c) => rps(runtime, BARE, window, c);
    const versus = (approach, window, c) =>
      over(bare(window, c), rps(runtime, approach, window, c));
    for (const [window, rawBound] of [["steady", 0.95], ["cold", 0.85]]) {
      add(
        runtime,
        window,
        50,
        `session / ${raw}, ${window}, C=50`,
        versus(raw, window, 50),
        rawBound,
      );
      add(
        runtime,
        window,
        50,
        `session / global fetch, ${window}, C=50`,
        versus("global fetch", window, 50),
        1.0,
      );
    }
    add(
      runtime,
      "steady",
      1,
      `session / ${raw}, steady, C=1`,
      versus(raw, "steady", 1),
      0.85,
    );
    add(
      runtime,
      "steady",
      1,
      `session p99 / ${raw} p99, steady, C=1`,
      over(
        get(runtime, BARE, "steady", 1)?.p99,
        get(runtime, raw, "steady", 1)?.p99,
      ),
      1.3,
      true,
    );
    for (const approach of ["session.fetch()", "session realistic"]) {
      add(
        runtime,
        "steady",
        50,
        `${approach} / session.get().json(), steady, C=50`,
        over(rps(runtime, approach, "steady", 50), bare("steady", 50)),
        0.9,
      );
    }
    const node = runtime.startsWith("node");
    const peers = node ? ["ky", "got", "axios", "ofetch"] : ["ky", "ofetch"];
    for (const c of [50, 1]) {
      const bound = node ? (c === 50 ? 3 : 2.5) : 1.2;
      for (const peer of peers) {
        add(
          runtime,
          "steady",
          c,
          `session / ${peer}, steady, C=${c}`,
          versus(peer, "steady", c),
          bound,
        );
      }
    }
  }
  return targets;
}

/** Connections each session row opened, against min(concurrency, limit). */
export function connectionChecks(summaries) {
  return summaries
    .filter((s) => s.role === "ours")
    .map((s) => {
      const expected = Math.min(s.concurrency, SESSION_LIMIT);
      return { ...s, expected, ok: s.conns === expected };
    });
}
