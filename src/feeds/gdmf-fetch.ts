// Fetching Apple's GDMF feed. gdmf.apple.com's certificate chains to Apple's
// root, which is not in Node's store: the operator supplies it (--ca), added
// to the default roots.
import { request } from "node:https";
import { request as plainRequest } from "node:http";
import { rootCertificates } from "node:tls";
import { FeedError, parseGdmf, type GdmfFeed } from "./gdmf.js";

export const GDMF_URL = "https://gdmf.apple.com/v2/pmv";
const MAX_BYTES = 32 * 1024 * 1024;

export async function fetchGdmf(
  url: string,
  options: { ca?: string; timeoutMs?: number } = {},
): Promise<{ text: string; feed: GdmfFeed }> {
  const target = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const send = target.protocol === "http:" ? plainRequest : request;
    const req = send(
      target,
      {
        method: "GET",
        headers: { accept: "application/json" },
        ...(options.ca !== undefined && target.protocol === "https:" ? { ca: [...rootCertificates, options.ca] } : {}),
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new FeedError(`${url} answered ${res.statusCode ?? "nothing"}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BYTES) {
            req.destroy();
            reject(new FeedError(`${url} sent more than ${MAX_BYTES / 1024 / 1024} MiB`));
          } else chunks.push(c);
        });
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        res.on("error", (e) => reject(new FeedError(`${url}: ${e.message}`)));
      },
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => {
      reject(new FeedError(`${url}: no answer within ${options.timeoutMs ?? 30_000} ms`));
      req.destroy();
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      const untrusted = [
        "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        "SELF_SIGNED_CERT_IN_CHAIN",
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "DEPTH_ZERO_SELF_SIGNED_CERT",
      ].includes(e.code ?? "");
      reject(
        new FeedError(
          untrusted
            ? `${url}: the server's certificate does not chain to a trusted root (${e.code ?? ""}); pass the root that issues it with --ca (for gdmf.apple.com, Apple's root CA)`
            : `${url}: ${e.code ?? e.message}`,
        ),
      );
    });
    req.end();
  });
  return { text, feed: parseGdmf(text, url) };
}
