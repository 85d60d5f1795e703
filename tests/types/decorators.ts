// Type tests for the three forms of @attachSession, and a runtime check.
// Type-checked twice by `npm run check`: as TC39 standard decorators (the
// repo's tsconfig, Deno) and as legacy `experimentalDecorators`
// (tests/types/tsconfig.legacy.json), whose tsc output is then run on Node.
import { attachSession, MockAdapter, SessionContainer } from "../../mod.ts";

const adapter = new MockAdapter().route("GET", "/n", { body: "7" });

class Typed extends SessionContainer {
  constructor() {
    super({ baseUrl: "http://api.test", adapter, idleDelay: 0 });
  }

  @attachSession
  async count(multiplier: number): Promise<number> {
    return Number(await this.session.get("n").text()) * multiplier;
  }

  @attachSession
  async *numbers(limit: number): AsyncGenerator<number, string, undefined> {
    for (let i = 1; i <= limit; i++) yield i * (await this.count(1));
    return "end";
  }

  plain = attachSession(
    async function (this: Typed, prefix: string): Promise<string> {
      return prefix + (await this.count(1));
    },
  );
}

// Never called: only type-checked.
export function typeOnly(t: Typed): void {
  const count: Promise<number> = t.count(2);
  // @ts-expect-error the parameter types are kept
  t.count("2");
  // @ts-expect-error the return type is kept
  const wrong: Promise<string> = t.count(2);
  const numbers: AsyncGenerator<number, string, undefined> = t.numbers(2);
  const plain: Promise<string> = t.plain("x");
  // @ts-expect-error the plain form keeps the parameter types
  t.plain(1);
  void [count, wrong, numbers, plain];
}

export async function run(): Promise<string> {
  await using t = new Typed();
  const count = await t.count(2);
  const numbers: number[] = [];
  for await (const n of t.numbers(2)) numbers.push(n);
  const plain = await t.plain("x");
  const result = JSON.stringify({ count, numbers, plain });
  if (result !== '{"count":14,"numbers":[7,14],"plain":"x7"}') {
    throw new Error(`unexpected ${result}`);
  }
  return result;
}
