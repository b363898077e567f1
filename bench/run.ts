// `npm run bench`: runs every benchmark scenario and prints a Markdown table.
// Scenarios arrive with the benchmark issue; until then this reports none.
console.log("| scenario | result |\n| --- | --- |\n| (none yet) | - |");
