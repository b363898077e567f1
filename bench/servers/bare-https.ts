// Baseline for the TLS blocked path: a bare Node HTTPS server answering every
// request with the same 403 bytes the gate sends, with the same certificate
// and key and the gate's protocol floor.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [port, contentType, bodyFile, certFile, keyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile as string);
createServer(
  { cert: readFileSync(certFile as string), key: readFileSync(keyFile as string), minVersion: "TLSv1.2" },
  (_req, res) => {
    res.writeHead(403, {
      "Content-Type": contentType as string,
      "Content-Length": body.length,
      "Cache-Control": "no-store",
    });
    res.end(body);
  },
).listen(Number(port), "127.0.0.1");

// Exit cleanly on stop, so that --cpu-prof can write its profile.
process.on("SIGTERM", () => process.exit(0));
