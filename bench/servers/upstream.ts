// The upstream MDM server for the allowed path, in one of two modes:
//   trivial: answers every request with a fixed 1 KiB enrollment profile
//            stand-in (the cheapest server there can be: a proxy's worst case);
//   signing: signs each 1 KiB profile with RSA-2048 first, as an MDM server
//            signs the enrollment profile it returns (a realistic cost).
import { createServer } from "node:http";
import { generateKeyPairSync, sign } from "node:crypto";

const profile = Buffer.alloc(1024, "p");
const port = Number(process.argv[2]);
const mode = process.argv[3] ?? "trivial";
const key = mode === "signing" ? generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey : null;

createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const body = key === null ? profile : Buffer.concat([profile, sign("sha256", profile, key)]);
    res.writeHead(200, { "Content-Type": "application/x-apple-aspen-config", "Content-Length": body.length });
    res.end(body);
  });
}).listen(port, "127.0.0.1");

// Exit cleanly on stop, so that --cpu-prof can write its profile.
process.on("SIGTERM", () => process.exit(0));
