// Baseline for the blocked path: a bare Express handler answering every
// request with the same 403 bytes the gate sends.
import { readFileSync } from "node:fs";
import express from "express";

const [port, contentType, bodyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile as string);
const app = express();
app.disable("x-powered-by");
app.disable("etag");
app.use((_req, res) => {
  res
    .status(403)
    .set("Content-Type", contentType as string)
    .set("Cache-Control", "no-store")
    .end(body);
});
app.listen(Number(port), "127.0.0.1");

// Exit cleanly on stop, so that --cpu-prof can write its profile.
process.on("SIGTERM", () => process.exit(0));
