// Every example in examples/ runs to completion on the runtime under test
// and prints what it promises.
import assert from "node:assert/strict";
import { runScript } from "./_child.ts";
import { test } from "./_test.ts";

const expectations: Record<string, RegExp[]> = {
  "basic.ts": [/100 requests in [\d.]+ ms over \d+ connection\(s\)/],
  "two_sessions.ts": [
    /urgent request answered after \d+ ms/,
    /billing finished in position [1-3] of 21/,
    /the server saw at most 3 requests at once/,
  ],
};

for (const [name, patterns] of Object.entries(expectations)) {
  test(`Example ${name} runs`, async () => {
    const outcome = await runScript(
      import.meta.url,
      `../examples/${name}`,
      [],
      30_000,
    );
    assert.ok(!outcome.killed, `still running after 30 s:\n${outcome.stderr}`);
    assert.equal(outcome.code, 0, outcome.stderr);
    for (const pattern of patterns) assert.match(outcome.stdout, pattern);
  });
}
