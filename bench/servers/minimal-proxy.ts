// The smallest useful Node reverse proxy: no gate, no parsing, keep-alive to
// the upstream. What any proxy written in Node costs on this machine, for
// reading the gate's allowed-path figure.
import { Agent, createServer, request } from "node:http";

const port = Number(process.argv[2]);
const upstream = new URL(process.argv[3] ?? "http://127.0.0.1:1");
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

createServer((req, res) => {
  const out = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on("error", () => {
    res.writeHead(502).end();
  });
  req.pipe(out);
}).listen(port, "127.0.0.1");

// Exit cleanly on stop, so that --cpu-prof can write its profile.
process.on("SIGTERM", () => process.exit(0));
