// The benchmark's report: markdown tables, the targets, the chart, and the
// README section (steady and cold side by side).
import { ROWS } from "./rows.mjs";

const fmtInt = (value) => Math.round(value).toLocaleString("en-US");
const fmtRatio = (value, digits = 2) =>
  value === undefined ? "n/a" : `${value.toFixed(digits)}x`;
const over = (a, b) => (a === undefined || b === undefined ? undefined : a / b);
const rawOf = (runtime) => ROWS[runtime].find(([, role]) => role === "raw")[0];

/** One window and concurrency: every row of every runtime. */
export function rowTable(runtimes, labels, get, window, c) {
  const lines = [
    "| runtime | approach | req/s | vs own transport | vs global fetch | p50 ms | p99 ms | CPU us/req | peak RSS MiB | TCP conns |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const runtime of runtimes) {
    const raw = get(runtime, rawOf(runtime), window, c);
    const global = get(runtime, "global fetch", window, c);
    for (const [approach, role] of ROWS[runtime]) {
      const s = get(runtime, approach, window, c);
      if (role === "anti" && window !== "cold") continue;
      const name = role === "ours" ? `**${approach}**` : approach;
      if (s === undefined) {
        lines.push(`| ${labels[runtime]} | ${name} | failed | | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${labels[runtime]} | ${name} | ${fmtInt(s.rps)} | ${
          fmtRatio(over(s.rps, raw?.rps))
        } | ${fmtRatio(over(s.rps, global?.rps))} | ${s.p50.toFixed(2)} | ${
          s.p99.toFixed(2)
        } | ${s.cpu.toFixed(1)} | ${s.rss.toFixed(0)} | ${fmtInt(s.conns)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** The targets, met or missed. */
export function targetTable(targets) {
  return [
    "| target (ratios in the same run) | measured | target | |",
    "| --- | ---: | ---: | --- |",
    ...targets.map((t) =>
      // Three digits: 0.797 must not read as a "missed" 0.80.
      `| ${t.name} | ${
        t.value === undefined ? "not run" : fmtRatio(t.value, 3)
      } | ${t.atMost ? "<=" : ">="} ${t.bound}x | ${
        t.ok ? "met" : "**missed**"
      } |`
    ),
  ].join("\n");
}

/** Connections opened by each session row. */
export function connectionTable(checks, labels) {
  return [
    "| connections opened by a session (limit 100) | measured | expected | |",
    "| --- | ---: | ---: | --- |",
    ...checks.map((c) =>
      `| ${
        labels[c.runtime]
      } ${c.approach}, ${c.window}, C=${c.concurrency} | ${c.conns} | ${c.expected} | ${
        c.ok ? "met" : "**missed**"
      } |`
    ),
  ].join("\n");
}

/** C=50, steady and cold side by side, for the README. */
export function sideBySide(runtimes, labels, get) {
  const lines = [
    "| runtime | approach | steady req/s | vs own transport | cold req/s | vs own transport |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
  ];
  for (const runtime of runtimes) {
    for (const [approach, role] of ROWS[runtime]) {
      if (role === "anti") continue;
      const cells = ["steady", "cold"].map((window) => {
        const s = get(runtime, approach, window, 50);
        const raw = get(runtime, rawOf(runtime), window, 50);
        return s === undefined
          ? "failed | "
          : `${fmtInt(s.rps)} | ${fmtRatio(over(s.rps, raw?.rps))}`;
      });
      const name = role === "ours" ? `**${approach}**` : approach;
      lines.push(`| ${labels[runtime]} | ${name} | ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

const COLORS = {
  ours: ["#1d4ed8", "#93c5fd"],
  raw: ["#374151", "#9ca3af"],
  other: ["#6b7280", "#d1d5db"],
};

/** The chart: C=50 req/s per row, steady and cold bars side by side. */
export function chart(runtimes, labels, get, caption) {
  const data = [];
  for (const runtime of runtimes) {
    for (const [approach, role] of ROWS[runtime]) {
      if (role === "anti") continue;
      const steady = get(runtime, approach, "steady", 50);
      const cold = get(runtime, approach, "cold", 50);
      if (steady || cold) data.push({ runtime, approach, role, steady, cold });
    }
  }
  const max = Math.max(
    ...data.flatMap((d) => [d.steady?.rps ?? 0, d.cold?.rps ?? 0]),
  );
  const bar = 11;
  const left = 270;
  const width = 820;
  const barMax = width - left - 110;
  let y = 56;
  let previous;
  const parts = [];
  for (const d of data) {
    if (previous !== undefined && previous !== d.runtime) y += 10;
    previous = d.runtime;
    const [dark, light] = COLORS[d.role] ?? COLORS.other;
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-weight="${
        d.role === "ours" ? 700 : 400
      }">${escapeXml(`${labels[d.runtime]} · ${d.approach}`)}</text>`,
    );
    for (const [s, color, dy] of [[d.steady, dark, 0], [d.cold, light, bar]]) {
      if (s === undefined) continue;
      const w = Math.max(1, (s.rps / max) * barMax);
      parts.push(
        `<rect x="${left}" y="${y + dy}" width="${w.toFixed(1)}" height="${
          bar - 1
        }" fill="${color}" rx="2"/>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${
          y + dy + 9
        }" font-size="10">${fmtInt(s.rps)}</text>`,
      );
    }
    y += 2 * bar + 6;
  }
  const height = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="700">GET + JSON at concurrency 50, loopback: req/s in the steady window (dark) and the cold one (light)</text>`,
    `<text x="10" y="40" fill="#6b7280">steady: 20,000 warm-up then 100,000 measured; cold: a fresh process, 2,000 then 20,000</text>`,
    ...parts,
    `<text x="10" y="${height - 10}" fill="#6b7280">${
      escapeXml(caption)
    }</text>`,
    `</svg>`,
    "",
  ].join("\n");
}

function escapeXml(text) {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c],
  );
}

/** The targets at C=50, for the README. */
export function headlineTargets(targets) {
  return targets.filter((t) => t.concurrency === 50);
}
