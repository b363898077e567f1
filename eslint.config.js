// ESLint for enrollgate: the rules that catch this code's real hazards, not a
// wall of defaults. Formatting is Prettier's job (npm run format); ESLint
// keeps only line length, for what Prettier cannot wrap (comments).
import js from "@eslint/js";
import stylistic from "@stylistic/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "dist-bench/", "node_modules/", "coverage/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@stylistic": stylistic },
    rules: {
      // A gate on a public URL: a promise nobody awaits is a request that
      // fails silently or an unhandled rejection that kills the process.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": [
        "error",
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/return-await": ["error", "in-try-catch"],
      // Closed sets (reasons, problem kinds, platforms) must stay handled everywhere.
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      // No `any` where a type can be written.
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      // import() types stay allowed: lazily loaded modules are typed that way.
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { fixStyle: "inline-type-imports", disallowTypeAnnotations: false },
      ],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/only-throw-error": "error",
      eqeqeq: ["error", "always"],
      // Protocol parsers look for control characters on purpose (NUL in names, C0 in plist text).
      "no-control-regex": "off",
      "no-console": "error",
      "prefer-const": "error",
      "object-shorthand": "error",
      // Prettier wraps code at 120; comments and long literals are ours to wrap.
      "@stylistic/max-len": [
        "error",
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
    },
  },
  {
    // Tests, benchmarks and scripts talk to people on the console and poke at internals.
    files: ["test/**", "bench/**", "support/**", "scripts/**"],
    rules: { "no-console": "off" },
  },
  { files: ["**/*.js", "**/*.mjs", "**/*.cjs"], ...tseslint.configs.disableTypeChecked },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
);
