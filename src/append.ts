// `target.push(...items)` passes every item as an argument, and V8 overflows
// its stack past about 100,000 of them: a policy set or a fleet that large is
// real, so lists that grow with the input are appended with a loop.

/** Appends `items` to `target` in order, however many there are. */
export function append<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item);
}
