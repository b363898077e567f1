// Text from outside (a device's status report, an inventory's header, a
// policy's test names, a feed's bytes) printed to a terminal or a CI log. A
// line feed in it starts a line of the attacker's: in GitHub Actions a line
// starting with `::` is a workflow command (an annotation, add-mask,
// stop-commands), and in a table it is a row of its own. Escape sequences
// move the cursor. So such text is printed with those characters made visible.

/** Control and format characters (line feeds, escape sequences, bidirectional overrides) as visible `\uXXXX`. */
export function printable(s: string): string {
  return s.replace(
    /[\p{Cc}\p{Cf}\u2028\u2029]/gu,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
  );
}
