// Part of `npm run build`: empties dist/ first, so that the package never
// ships a file whose source is gone (a deleted module, a stale source map).
import { rmSync } from "node:fs";

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
