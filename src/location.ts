// A place in a file, as enrollgate prints it everywhere: findings, test
// results, log lines and error messages. `file:line:col` (1-based) is the
// form compilers print and editors, terminals and CI logs turn into a link,
// so it is written in one place only.

/** A place in a file, 1-based. */
export interface FileLocation {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
}

/** `file:line:col`, for example `policies/iphone.yaml:6:14`. */
export function formatLocation(at: FileLocation): string {
  return `${at.file}:${at.line}:${at.column}`;
}
