// The request target, read once and the same way for routing and for the
// upstream (RFC 9112 3.2, RFC 3986 6.2.2): origin-form only; percent-encoded
// unreserved characters decoded, other escapes upper-cased; dot segments
// removed. Whatever an upstream could decode into a different path is refused
// rather than guessed at: `..` above the root, encoded `/` and `\`, an encoded
// `%` in front of them (decoded twice), `..;` segments (read as `..` by
// servlet containers), encoded control characters.

export type RequestTarget =
  | { readonly ok: true; readonly path: string; readonly query: string | null }
  | { readonly ok: false; readonly code: "bad-request-target" | "bad-path"; readonly message: string };

// pchar and "/" (RFC 3986 3.3), and "%" for escapes.
const PATH_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX = /^[0-9A-Fa-f]{2}$/;
// After normalisation, "%25" followed by the escape of ".", "/" or "\": a second decoding makes a separator.
const DOUBLE_ENCODED = /%25(2E|2F|5C)/i;

const refuse = (code: "bad-request-target" | "bad-path", message: string): RequestTarget => ({
  ok: false,
  code,
  message,
});

/** Decodes unreserved escapes, upper-cases the rest; refuses escapes a path must not hide. */
function normaliseEscapes(path: string): { ok: true; path: string } | { ok: false; result: RequestTarget } {
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i] as string;
    if (c !== "%") {
      out += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex))
      return {
        ok: false,
        result: refuse(
          "bad-request-target",
          `the path has a bad percent-encoding at ${JSON.stringify(path.slice(i, i + 3))}`,
        ),
      };
    i += 2;
    const byte = parseInt(hex, 16);
    const char = String.fromCharCode(byte);
    if (byte === 0x2f || byte === 0x5c)
      return {
        ok: false,
        result: refuse(
          "bad-path",
          `the path has an encoded ${byte === 0x2f ? "slash" : "backslash"} (%${hex}), which an upstream may decode into a separator`,
        ),
      };
    if (byte < 0x20 || byte === 0x7f)
      return { ok: false, result: refuse("bad-path", `the path has an encoded control character (%${hex})`) };
    out += UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  }
  return { ok: true, path: out };
}

/** RFC 3986 5.2.4 on a path starting with "/", except that `..` above the root is refused, not dropped. */
function removeDotSegments(path: string): { ok: true; path: string } | { ok: false; result: RequestTarget } {
  const segments = path.slice(1).split("/");
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    const bare = segment.split(";", 1)[0];
    if (segment !== bare && (bare === "." || bare === ".."))
      return {
        ok: false,
        result: refuse(
          "bad-path",
          `the path has a ${JSON.stringify(segment)} segment, which some servers read as ${JSON.stringify(bare)}`,
        ),
      };
    if (segment === ".") {
      trailingSlash = last;
      continue;
    }
    if (segment === "..") {
      if (out.length === 0)
        return { ok: false, result: refuse("bad-path", 'the path climbs above its root with ".."') };
      out.pop();
      trailingSlash = last;
      continue;
    }
    out.push(segment);
    trailingSlash = false;
  }
  let result = `/${out.join("/")}`;
  if (trailingSlash && !result.endsWith("/")) result += "/";
  return { ok: true, path: result };
}

/** Reads a request target as Node hands it over (req.url). */
export function parseRequestTarget(target: string): RequestTarget {
  if (target === "*") return refuse("bad-request-target", "asterisk-form (*) is not accepted; send a path");
  if (!target.startsWith("/")) {
    return refuse(
      "bad-request-target",
      /^[A-Za-z][A-Za-z0-9+.-]*:/.test(target)
        ? "absolute-form (scheme://host/path) is not accepted; send a path"
        : "the request target is not a path",
    );
  }
  const q = target.indexOf("?");
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? null : target.slice(q + 1);
  if (!PATH_CHARACTERS.test(rawPath)) {
    const bad = [...rawPath].find((c) => !PATH_CHARACTERS.test(c)) ?? "";
    return refuse("bad-request-target", `the path has a character a path may not have: ${JSON.stringify(bad)}`);
  }
  // Most paths have no escapes and no segment starting with a dot: already normal.
  if (!rawPath.includes("%") && !rawPath.includes("/.")) return { ok: true, path: rawPath, query };
  const escapes = normaliseEscapes(rawPath);
  if (!escapes.ok) return escapes.result;
  const dots = removeDotSegments(escapes.path);
  if (!dots.ok) return dots.result;
  if (DOUBLE_ENCODED.test(dots.path))
    return refuse("bad-path", "the path has a double-encoded separator (%25 before 2E, 2F or 5C)");
  return { ok: true, path: dots.path, query };
}

/** The upstream path: its base (without a trailing slash) and the normalised path, which starts with "/". */
export function upstreamPath(base: string, target: { readonly path: string; readonly query: string | null }): string {
  return `${base.replace(/\/+$/, "")}${target.path}${target.query === null ? "" : `?${target.query}`}`;
}
