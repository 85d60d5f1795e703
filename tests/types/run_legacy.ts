// Runs the legacy-decorator build of decorators.ts (see tsconfig.legacy.json).
import { run } from "./decorators.ts";

console.log(`legacy decorators: ${await run()}`);
